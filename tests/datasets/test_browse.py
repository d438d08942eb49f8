"""Datasets and their image lists: CRUD, keyset pages, jumps by idx, filters, flags."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Person
from tests.datasets.helpers import (
    add_annotations,
    new_category,
    new_dataset,
    new_label_set,
    upload,
    upload_noise,
)
from tests.factories import make_noise_image
from tests.helpers import assert_error, unique


class Browse:
    """12 images; annotations on some of them (see ``setup``)."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.dataset = new_dataset(person, "browse")["id"]
        self.images = [i["id"] for i in upload_noise(person, self.dataset, 12, seed=3000)]
        self.gt = new_label_set(person, self.dataset, "gt")
        self.pred = new_label_set(person, self.dataset, "pred", kind="Pred")
        self.cat = new_category(person, self.dataset, "cat")
        self.dog = new_category(person, self.dataset, "dog")
        notes: list[dict[str, Any]] = []
        for i in range(6):  # images 0-5: a cat in gt, three times each
            notes += [self.note(i, self.gt, self.cat)] * 3
        for i, conf in ((6, 0.2), (7, 0.5), (8, 0.9)):  # images 6-8: a dog predicted
            notes.append(self.note(i, self.pred, self.dog, conf=conf))
        add_annotations(person, self.dataset, notes)

    def note(self, i: int, label_set: int, category: int, **fields: Any) -> dict[str, Any]:
        return {
            "image_id": self.images[i],
            "label_set_id": label_set,
            "category_id": category,
            **fields,
        }

    def ids(self, **params: Any) -> list[int]:
        response = self.person.http.get(
            f"/datasets/{self.dataset}/images", params={"limit": 1000, **params}
        )
        assert response.status_code == 200, response.text
        return [self.images.index(i["id"]) for i in response.json()["items"]]


@pytest.fixture(scope="module")
def b(alice: Person) -> Browse:
    return Browse(alice)


def test_pages_follow_idx_without_gaps_or_repeats(b: Browse) -> None:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = b.person.http.get(f"/datasets/{b.dataset}/images", params=params).json()
        seen += [i["idx"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(range(12)) and pages == 3


def test_from_idx_jumps_to_a_position(b: Browse) -> None:
    page = b.person.http.get(
        f"/datasets/{b.dataset}/images", params={"from_idx": 7, "limit": 2}
    ).json()
    assert [i["idx"] for i in page["items"]] == [7, 8]
    after = b.person.http.get(
        f"/datasets/{b.dataset}/images", params={"from_idx": 7, "cursor": page["next_cursor"]}
    ).json()
    assert [i["idx"] for i in after["items"]] == [9, 10, 11]


def test_filters_select_images_by_their_annotations_once_each(b: Browse) -> None:
    assert b.ids(category=b.cat) == [0, 1, 2, 3, 4, 5]
    assert b.ids(category=b.dog) == [6, 7, 8]
    assert b.ids(label_set=b.pred) == [6, 7, 8]
    assert b.ids(label_set=b.gt, category=b.dog) == []
    assert b.ids(min_conf=0.4) == [0, 1, 2, 3, 4, 5, 7, 8]
    assert b.ids(label_set=b.pred, min_conf=0.3, max_conf=0.6) == [7]
    assert b.ids(max_conf=0.5) == [6, 7]
    assert b.ids(has_annotations=True) == list(range(9))
    assert b.ids(has_annotations=False) == [9, 10, 11]
    assert b.ids(has_annotations=False, label_set=b.gt) == [6, 7, 8, 9, 10, 11]
    assert b.ids(category=b.cat, from_idx=4) == [4, 5]


def test_filters_naming_another_datasets_objects_answer_404(b: Browse, alice: Person) -> None:
    other = new_dataset(alice)["id"]
    foreign = new_category(alice, other, "cat")
    foreign_set = new_label_set(alice, other)
    url = f"/datasets/{b.dataset}/images"
    assert_error(b.person.http.get(url, params={"category": foreign}), 404, "category_not_found")
    assert_error(
        b.person.http.get(url, params={"label_set": foreign_set}), 404, "label_set_not_found"
    )


def test_bad_list_parameters_are_422(b: Browse) -> None:
    url = f"/datasets/{b.dataset}/images"
    assert_error(b.person.http.get(url, params={"limit": 0}), 422, "invalid_limit")
    assert_error(b.person.http.get(url, params={"cursor": "garbage"}), 422, "invalid_cursor")
    assert_error(b.person.http.get(url, params={"min_conf": "high"}), 422, "validation_error")


def test_flags_are_set_with_their_time_and_filterable(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    ids = [i["id"] for i in upload_noise(alice, dataset, 4, seed=3100)]

    one = alice.http.post(f"/images/{ids[0]}/flag", json={"flag": 1})
    many = alice.http.post(
        f"/datasets/{dataset}/images/flag", json={"image_ids": ids[1:3], "flag": 2}
    )

    assert one.json()["flag"] == 1 and one.json()["flag_ts"] is not None
    assert many.json() == {"count": 2}
    listed = alice.http.get(f"/datasets/{dataset}/images", params={"flag": 2}).json()["items"]
    assert [i["id"] for i in listed] == ids[1:3]
    assert_error(alice.http.post(f"/images/{ids[0]}/flag", json={"flag": 3}), 422, "invalid_flag")


def test_a_bulk_flag_naming_a_foreign_image_changes_nothing(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    mine = upload(alice, dataset, make_noise_image(20, 20, seed=3200))["id"]
    other = new_dataset(alice)["id"]
    foreign = upload(alice, other, make_noise_image(20, 20, seed=3201))["id"]

    response = alice.http.post(
        f"/datasets/{dataset}/images/flag", json={"image_ids": [mine, foreign], "flag": 1}
    )

    assert assert_error(response, 404, "image_not_found")["details"]["image_ids"] == [foreign]
    assert alice.http.get(f"/images/{mine}").json()["flag"] == 0


def test_deleting_an_image_keeps_the_positions_of_the_others(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    images = upload_noise(alice, dataset, 3, seed=3300)
    gt = new_label_set(alice, dataset)
    cat = new_category(alice, dataset, "cat")
    add_annotations(
        alice, dataset, [{"image_id": images[1]["id"], "label_set_id": gt, "category_id": cat}]
    )

    assert alice.http.delete(f"/images/{images[1]['id']}").status_code == 204

    listed = alice.http.get(f"/datasets/{dataset}/images").json()["items"]
    assert [i["idx"] for i in listed] == [0, 2]
    stats = alice.http.get(f"/datasets/{dataset}/stats").json()
    assert stats["num_images"] == 2 and stats["num_annotations"] == 0
    assert_error(alice.http.get(f"/images/{images[1]['id']}"), 404, "image_not_found")
    again = upload(alice, dataset, make_noise_image(32, 24, seed=3301))
    assert again["idx"] == 3


def test_an_image_gets_new_metadata_and_source_id(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    first, second = upload_noise(alice, dataset, 2, seed=3400)

    changed = alice.http.patch(
        f"/images/{first['id']}", json={"metadata": {"k": "v"}, "source_id": 9}
    )
    clash = alice.http.patch(f"/images/{second['id']}", json={"source_id": 9})

    assert changed.json()["metadata"] == {"k": "v"} and changed.json()["source_id"] == 9
    assert_error(clash, 422, "duplicate_source_id")


def test_datasets_are_created_listed_renamed_and_found_by_name(alice: Person, bob: Person) -> None:
    name = unique("life")
    created = alice.http.post(
        "/datasets",
        json={
            "name": name,
            "display_name": "Life",
            "img_width": 10,
            "img_height": 5,
            "maintain_ratio": True,
            "group": "team",
            "details": {"source": "test"},
            "compressed": True,
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["owner"], body["visibility"], body["status"], body["num_images"]) == (
        alice.username,
        "private",
        "ready",
        0,
    )
    assert (body["group"], body["details"], body["compressed"]) == (
        "team",
        {"source": "test"},
        True,
    )
    assert_error(alice.http.post("/datasets", json={"name": name}), 409, "dataset_exists")
    assert_error(alice.http.post("/datasets", json={"name": "Not A Slug"}), 422, "invalid_name")
    assert bob.http.post("/datasets", json={"name": name}).status_code == 201  # per owner

    renamed = alice.http.patch(f"/datasets/{body['id']}", json={"name": f"{name}-2"})
    assert renamed.json()["name"] == f"{name}-2"
    found = alice.http.get("/datasets", params={"name": f"{name}-2"}).json()["items"]
    assert [d["id"] for d in found] == [body["id"]]
    assert alice.http.get("/datasets", params={"name": name}).json()["items"] == []


def test_the_cover_is_the_first_image_unless_chosen(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    first, second = upload_noise(alice, dataset, 2, seed=3500)
    assert alice.http.get(f"/datasets/{dataset}").json()["cover_image_id"] == first["id"]

    chosen = alice.http.patch(f"/datasets/{dataset}", json={"cover_image_id": second["id"]})

    assert chosen.json()["cover_image_id"] == second["id"]
    other = new_dataset(alice)["id"]
    foreign = upload(alice, other, make_noise_image(20, 20, seed=3501))["id"]
    assert_error(
        alice.http.patch(f"/datasets/{dataset}", json={"cover_image_id": foreign}),
        404,
        "image_not_found",
    )


def test_the_missing_endpoint_says_what_to_upload(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    image = upload(alice, dataset, make_noise_image(20, 20, seed=3600))
    absent = "0" * 64

    answer = alice.http.post(
        f"/datasets/{dataset}/images/missing", json={"sha256": [image["sha256"], absent]}
    ).json()

    assert answer == {
        "missing": [absent],
        "present": [{"sha256": image["sha256"], "id": image["id"]}],
        "attachable": [],
    }
    bad = alice.http.post(f"/datasets/{dataset}/images/missing", json={"sha256": ["xyz"]})
    assert_error(bad, 422, "invalid_sha256")


def test_staged_uploads_are_added_in_the_order_asked(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    staged = []
    for seed in (3700, 3701, 3702):
        response = alice.http.post(
            f"/datasets/{dataset}/uploads",
            files={"file": ("x.png", make_noise_image(20, 20, seed=seed))},
        )
        assert response.status_code == 201
        staged.append(response.json()["sha256"])
    assert alice.http.get(f"/datasets/{dataset}").json()["num_images"] == 0
    hashes = alice.http.post(f"/datasets/{dataset}/images/missing", json={"sha256": staged}).json()
    assert hashes["attachable"] == staged

    order = [staged[2], staged[0], staged[1]]
    added = alice.http.post(
        f"/datasets/{dataset}/images/from-hashes",
        json={"images": [{"sha256": h, "filename": f"{n}.png"} for n, h in enumerate(order)]},
    ).json()

    assert [i["sha256"] for i in added["images"]] == order
    assert [i["idx"] for i in added["images"]] == [0, 1, 2]
    assert [i["filename"] for i in added["images"]] == ["0.png", "1.png", "2.png"]


def test_images_without_annotations_follow_every_delete(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    images = [i["id"] for i in upload_noise(alice, dataset, 3, seed=3800)]
    gt = new_label_set(alice, dataset, "gt")
    pred = new_label_set(alice, dataset, "pred", kind="Pred")
    cat = new_category(alice, dataset, "cat")
    add_annotations(
        alice,
        dataset,
        [
            {"image_id": images[0], "label_set_id": gt, "category_id": cat},
            {"image_id": images[0], "label_set_id": pred, "category_id": cat},
            {"image_id": images[1], "label_set_id": gt, "category_id": cat},
        ],
    )

    def bare() -> list[int]:
        page = alice.http.get(
            f"/datasets/{dataset}/images", params={"has_annotations": False}
        ).json()
        return [images.index(i["id"]) for i in page["items"]]

    assert bare() == [2]
    alice.http.delete(f"/images/{images[1]}/annotations")
    assert bare() == [1, 2]
    alice.http.delete(f"/label-sets/{gt}")
    assert bare() == [1, 2]
    alice.http.delete(f"/label-sets/{pred}/annotations")
    assert bare() == [0, 1, 2]
    alice.http.get(f"/datasets/{dataset}/stats", params={"exact": True})
    assert bare() == [0, 1, 2]


def test_numbers_beyond_what_the_database_holds_are_4xx_not_500(alice: Person) -> None:
    huge = 2**70
    dataset = new_dataset(alice)["id"]
    gt = new_label_set(alice, dataset)
    for path in (
        f"/datasets/{huge}",
        f"/images/{huge}",
        f"/images/{huge}/content",
        f"/annotations/{huge}",
        f"/categories/{huge}",
        f"/label-sets/{huge}",
        f"/datasets/{dataset}/annotations?label_set={huge}",
    ):
        assert_error(alice.http.get(path), 404)
    assert_error(alice.http.post("/datasets", json={"name": unique("w"), "img_width": huge}), 422)
    long_name = {"name": unique("d"), "display_name": "x" * 201}
    assert_error(alice.http.post("/datasets", json=long_name), 422)
    url = f"/datasets/{dataset}/images"
    assert_error(alice.http.get(url, params={"from_idx": huge}), 422)
    assert_error(alice.http.get(url, params={"category": huge}), 422)
    assert_error(alice.http.post(f"{url}/flag", json={"image_ids": [huge], "flag": 1}), 422)
    upload_huge = alice.http.post(
        url,
        files={"file": ("x.png", make_noise_image(20, 20, seed=3900))},
        data={"source_id": str(huge)},
    )
    assert_error(upload_huge, 422)
    notes = [{"image_id": huge, "label_set_id": gt}]
    error = assert_error(
        alice.http.post(f"/datasets/{dataset}/annotations", json={"annotations": notes}),
        422,
        "invalid_annotations",
    )
    assert error["details"]["errors"][0]["field"] == "image_id"

"""Annotations: checked one by one, written in bulk all or nothing, counted for the stats."""

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
)
from tests.factories import make_noise_image
from tests.helpers import assert_error

W, H = 40, 30
KEYPOINTS = ["nose", "left_eye", "right_eye"]


class Setup:
    def __init__(self, person: Person) -> None:
        self.person = person
        self.dataset = new_dataset(person, "notes")["id"]
        self.images = [
            upload(person, self.dataset, make_noise_image(W, H, seed=1000 + i))["id"]
            for i in range(3)
        ]
        self.gt = new_label_set(person, self.dataset, "gt")
        self.pred = new_label_set(person, self.dataset, "pred", kind="Pred")
        self.cat = new_category(person, self.dataset, "cat")
        self.dog = new_category(person, self.dataset, "dog")
        self.person_cat = new_category(
            person,
            self.dataset,
            "person",
            keypoint_names=KEYPOINTS,
            keypoint_skeleton=[[1, 2], [1, 3]],
            keypoint_colors=[255, 0, 0, 0, 255, 0, 0, 0, 255],
        )

    def note(self, **fields: Any) -> dict[str, Any]:
        return {
            "image_id": self.images[0],
            "label_set_id": self.gt,
            "category_id": self.cat,
            **fields,
        }


@pytest.fixture(scope="module")
def setup(alice: Person) -> Setup:
    return Setup(alice)


def stats(person: Person, dataset: int) -> dict[str, Any]:
    response = person.http.get(f"/datasets/{dataset}/stats")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_every_geometry_is_stored_and_given_back(setup: Setup) -> None:
    rle = {"size": [H, W], "counts": [5, 10, W * H - 15]}
    notes = [
        setup.note(),
        setup.note(bbox=[1, 2, 10, 20], conf=0.5),
        setup.note(bbox=[0, 0, W, H], segmentation=[[1, 1, 10, 1, 10, 10, 1, 10]], area=81.0),
        setup.note(segmentation=rle, is_group=True),
        setup.note(
            category_id=setup.person_cat,
            keypoints=[1, 2, 2, 3, 4, 1, 0, 0, 0],
            bbox=[0, 0, 5, 5],
        ),
        setup.note(category_id=None, caption="a cat on a mat"),
        setup.note(confirm_type=2, compare_result={"90": "FP"}),
    ]
    image = setup.images[1]
    response = setup.person.http.post(f"/images/{image}/annotations", json={"annotations": notes})
    assert response.status_code == 201, response.text
    created = response.json()["annotations"]

    listed = setup.person.http.get(f"/images/{image}/annotations").json()["items"]

    assert [a["id"] for a in listed] == [a["id"] for a in created]
    assert listed[0]["bbox"] is None and listed[0]["segmentation"] is None
    assert listed[1]["bbox"] == [1, 2, 10, 20] and listed[1]["conf"] == 0.5
    assert listed[1]["area"] == 200  # from the box
    assert listed[2]["segmentation"] == [[1, 1, 10, 1, 10, 10, 1, 10]]
    assert listed[2]["area"] == 81.0  # as given
    assert listed[3]["segmentation"] == rle and listed[3]["is_group"] is True
    assert listed[3]["area"] == 10  # foreground pixels of the mask
    assert listed[4]["keypoints"] == [1, 2, 2, 3, 4, 1, 0, 0, 0]
    assert listed[5]["caption"] == "a cat on a mat" and listed[5]["category_id"] is None
    assert listed[6]["confirm_type"] == 2 and listed[6]["compare_result"] == {"90": "FP"}
    assert all(a["image_id"] == image for a in listed)
    assert set(setup.person.http.get(f"/datasets/{setup.dataset}").json()["object_types"]) >= {
        "classification",
        "detection",
        "segmentation",
        "keypoints",
        "caption",
    }


def test_a_compressed_rle_string_is_accepted_when_it_covers_the_image(setup: Setup) -> None:
    import numpy as np
    from pycocotools import mask as mask_utils  # the reference implementation

    grid = np.zeros((H, W), dtype=np.uint8, order="F")
    grid[5:15, 7:30] = 1
    rle = mask_utils.encode(grid)
    counts = rle["counts"].decode()

    add_annotations(
        setup.person,
        setup.dataset,
        [setup.note(image_id=setup.images[2], segmentation={"size": [H, W], "counts": counts})],
    )

    items = setup.person.http.get(
        f"/images/{setup.images[2]}/annotations", params={"label_set": setup.gt}
    ).json()["items"]
    assert items[-1]["area"] == float(mask_utils.area(rle))


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"bbox": [1, 2, 3]}, "bbox", "four numbers"),
        ({"bbox": [30, 0, 20, 10]}, "bbox", "not inside"),
        ({"bbox": [0, 0, -1, 10]}, "bbox", "negative"),
        ({"segmentation": [[1, 2, 3, 4, 5]]}, "segmentation", "even number"),
        ({"segmentation": [[1, 2, 3, 4]]}, "segmentation", "at least 6"),
        ({"segmentation": []}, "segmentation", "list of polygons"),
        ({"segmentation": {"size": [W, H], "counts": [W * H]}}, "segmentation", "RLE size"),
        ({"segmentation": {"size": [H, W], "counts": [5]}}, "segmentation", "cover 5"),
        ({"segmentation": {"size": [H, W], "counts": "!!"}}, "segmentation", "outside"),
        ({"segmentation": {"size": [H, W], "counts": [-1, W * H + 1]}}, "segmentation", "negative"),
        ({"keypoints": [1, 2, 2]}, "keypoints", "no keypoint names"),
        ({"conf": 1.5}, "conf", "between 0 and 1"),
        ({"confirm_type": 5}, "confirm_type", "0, 1 or 2"),
        ({"image_id": 999_999_999}, "image_id", "no such image"),
        ({"image_id": None}, "image_id", "required"),
        ({"label_set_id": 999_999_999}, "label_set_id", "no such label set"),
        ({"category_id": 999_999_999}, "category_id", "no such category"),
        ({"matched_gt_id": 999_999_999}, "matched_gt_id", "no such annotation"),
        ({"bbox": "1,2,3,4"}, "bbox", "must be a list"),
        ({"conf": "high"}, "conf", "must be a number"),
        ({"is_group": 1}, "is_group", "true or false"),
        ({"label_set_id": "gt"}, "label_set_id", "must be an integer"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_each_violation_is_named_with_its_index(
    setup: Setup, fields: dict[str, Any], field: str, reason: str
) -> None:
    before = stats(setup.person, setup.dataset)["num_annotations"]
    notes = [setup.note(), setup.note(**fields)]

    response = setup.person.http.post(
        f"/datasets/{setup.dataset}/annotations", json={"annotations": notes}
    )

    error = assert_error(response, 422, "invalid_annotations")
    [violation] = error["details"]["errors"]
    assert violation["index"] == 1 and violation["field"] == field
    assert reason in violation["reason"]
    assert stats(setup.person, setup.dataset)["num_annotations"] == before


def test_keypoints_must_match_the_category_names(setup: Setup) -> None:
    person = {"category_id": setup.person_cat}
    notes = [
        setup.note(**person, keypoints=[1, 2, 2] * 2),
        setup.note(**person, keypoints=[1, 2, 3] * 3),
        setup.note(category_id=None, keypoints=[1, 2, 2] * 3),
    ]
    response = setup.person.http.post(
        f"/datasets/{setup.dataset}/annotations", json={"annotations": notes}
    )
    errors = assert_error(response, 422, "invalid_annotations")["details"]["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (0, "keypoints"),
        (1, "keypoints"),
        (2, "keypoints"),
    ]
    assert "9 numbers" in errors[0]["reason"]
    assert "visibility" in errors[1]["reason"]


def test_ids_of_another_dataset_are_refused(setup: Setup, alice: Person) -> None:
    other = new_dataset(alice)["id"]
    foreign_image = upload(alice, other, make_noise_image(W, H, seed=77))["id"]
    foreign_set = new_label_set(alice, other)
    foreign_cat = new_category(alice, other, "cat")
    notes = [
        setup.note(image_id=foreign_image),
        setup.note(label_set_id=foreign_set),
        setup.note(category_id=foreign_cat),
    ]
    response = setup.person.http.post(
        f"/datasets/{setup.dataset}/annotations", json={"annotations": notes}
    )
    errors = assert_error(response, 422, "invalid_annotations")["details"]["errors"]
    assert [e["field"] for e in errors] == ["image_id", "label_set_id", "category_id"]


def test_all_violations_are_listed_and_nothing_is_saved(setup: Setup) -> None:
    before = stats(setup.person, setup.dataset)["num_annotations"]
    notes = [setup.note(bbox=[0, 0, 1, 1]) for _ in range(20)]
    for i in (3, 7, 19):
        notes[i]["bbox"] = [0, 0, W + 10, 1]

    response = setup.person.http.post(
        f"/datasets/{setup.dataset}/annotations", json={"annotations": notes}
    )

    errors = assert_error(response, 422, "invalid_annotations")["details"]["errors"]
    assert [e["index"] for e in errors] == [3, 7, 19]
    assert stats(setup.person, setup.dataset)["num_annotations"] == before


def test_ten_thousand_annotations_go_in_one_request(alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    images = [upload(alice, dataset, make_noise_image(W, H, seed=2000 + i))["id"] for i in range(5)]
    gt = new_label_set(alice, dataset)
    cats = [new_category(alice, dataset, f"c{i}") for i in range(4)]
    notes = [
        {
            "image_id": images[i % 5],
            "label_set_id": gt,
            "category_id": cats[i % 4],
            "bbox": [1, 1, 5, 5],
            "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]],
        }
        for i in range(10_000)
    ]

    response = alice.http.post(f"/datasets/{dataset}/annotations", json={"annotations": notes})

    assert response.status_code == 201, response.text[:500]
    assert response.json() == {"created": 10_000}
    counted = stats(alice, dataset)
    assert counted["num_annotations"] == 10_000
    [label_set] = counted["label_sets"]
    assert {c["name"]: c["count"] for c in label_set["categories"]} == {
        "c0": 2500,
        "c1": 2500,
        "c2": 2500,
        "c3": 2500,
    }


def test_stats_follow_every_change_and_match_an_exact_recount(alice: Person) -> None:
    s = Setup(alice)
    add_annotations(
        alice,
        s.dataset,
        [
            s.note(image_id=s.images[0]),
            s.note(image_id=s.images[1], category_id=s.dog),
            s.note(image_id=s.images[1], label_set_id=s.pred, conf=0.3),
            s.note(image_id=s.images[2], category_id=None, caption="x"),
        ],
    )
    first = alice.http.get(f"/images/{s.images[0]}/annotations").json()["items"][0]["id"]
    assert alice.http.delete(f"/annotations/{first}").status_code == 204
    cleared = alice.http.delete(f"/images/{s.images[1]}/annotations", params={"label_set": s.pred})
    assert cleared.json() == {"count": 1}
    clone = alice.http.post(f"/label-sets/{s.gt}/clone", json={"name": "gt-copy"}).json()

    counted = stats(alice, s.dataset)
    exact = alice.http.get(f"/datasets/{s.dataset}/stats", params={"exact": True}).json()

    assert counted == exact
    by_name = {ls["name"]: ls for ls in counted["label_sets"]}
    assert by_name["gt"]["num_annotations"] == 2
    assert by_name["pred"]["num_annotations"] == 0
    assert by_name["gt-copy"]["num_annotations"] == 2
    assert {c["name"] for c in by_name["gt-copy"]["categories"]} == {"dog", ""}
    assert counted["num_images"] == 3
    assert clone["cloned_from_id"] == s.gt and clone["kind"] == "GT"


def test_a_clone_copies_every_field_into_a_new_label_set(alice: Person) -> None:
    s = Setup(alice)
    note = s.note(
        bbox=[1, 1, 3, 3],
        segmentation={"size": [H, W], "counts": [0, W * H]},
        conf=0.25,
        caption="c",
        is_group=True,
    )
    add_annotations(alice, s.dataset, [note])

    clone = alice.http.post(f"/label-sets/{s.gt}/clone", json={"name": "p", "kind": "Pred"})
    assert clone.status_code == 201
    copied = alice.http.get(
        f"/datasets/{s.dataset}/annotations", params={"label_set": clone.json()["id"]}
    ).json()["items"]
    original = alice.http.get(
        f"/datasets/{s.dataset}/annotations", params={"label_set": s.gt}
    ).json()["items"]

    assert len(copied) == 1
    strip = {"id", "label_set_id"}
    assert {k: v for k, v in copied[0].items() if k not in strip} == {
        k: v for k, v in original[0].items() if k not in strip
    }


def test_deleting_a_label_set_deletes_its_annotations(alice: Person) -> None:
    s = Setup(alice)
    add_annotations(alice, s.dataset, [s.note(), s.note(label_set_id=s.pred)])

    assert alice.http.delete(f"/label-sets/{s.gt}").status_code == 204

    assert_error(alice.http.get(f"/label-sets/{s.gt}"), 404, "label_set_not_found")
    counted = stats(alice, s.dataset)
    assert [ls["name"] for ls in counted["label_sets"]] == ["pred"]
    assert counted["num_annotations"] == 1
    assert len(alice.http.get(f"/images/{s.images[0]}/annotations").json()["items"]) == 1


def test_label_set_and_category_names_are_unique_per_dataset(setup: Setup) -> None:
    d = setup.dataset
    assert_error(
        setup.person.http.post(f"/datasets/{d}/label-sets", json={"name": "gt"}),
        409,
        "label_set_exists",
    )
    assert_error(
        setup.person.http.post(f"/datasets/{d}/categories", json={"name": "cat"}),
        409,
        "category_exists",
    )
    assert_error(
        setup.person.http.post(f"/label-sets/{setup.gt}/clone", json={"name": "pred"}),
        409,
        "label_set_exists",
    )


def test_a_category_can_be_renamed_and_its_keypoints_described(setup: Setup) -> None:
    created = new_category(setup.person, setup.dataset, "horse")

    renamed = setup.person.http.patch(
        f"/categories/{created}",
        json={"name": "pony", "keypoint_names": ["a", "b"], "keypoint_skeleton": [[1, 2]]},
    )

    assert renamed.status_code == 200
    body = renamed.json()
    assert (body["name"], body["keypoint_names"], body["keypoint_skeleton"]) == (
        "pony",
        ["a", "b"],
        [[1, 2]],
    )
    bad = setup.person.http.patch(f"/categories/{created}", json={"keypoint_skeleton": [[1, 3]]})
    assert_error(bad, 422, "invalid_keypoints")


def test_keypoint_count_is_fixed_once_annotations_use_it(setup: Setup) -> None:
    add_annotations(
        setup.person,
        setup.dataset,
        [setup.note(category_id=setup.person_cat, keypoints=[0, 0, 0] * 3)],
    )
    response = setup.person.http.patch(
        f"/categories/{setup.person_cat}", json={"keypoint_names": ["only"]}
    )
    assert_error(response, 409, "category_in_use")


def test_an_alpha_matte_must_have_the_image_size(setup: Setup) -> None:
    from tests.factories import make_png

    created = setup.person.http.post(
        f"/images/{setup.images[0]}/annotations", json={"annotations": [setup.note()]}
    ).json()["annotations"][0]["id"]

    wrong = setup.person.http.post(
        f"/annotations/{created}/alpha", files={"file": ("a.png", make_png(W + 1, H))}
    )
    right = setup.person.http.post(
        f"/annotations/{created}/alpha", files={"file": ("a.png", make_png(W, H))}
    )

    assert_error(wrong, 422, "alpha_size_mismatch")
    assert right.status_code == 200 and len(right.json()["alpha_sha256"]) == 64
    assert setup.person.http.get(f"/annotations/{created}/alpha").content == make_png(W, H)


def test_a_body_that_is_not_a_list_of_annotations_is_refused(setup: Setup) -> None:
    url = f"/datasets/{setup.dataset}/annotations"
    headers = {"Content-Type": "application/json"}
    assert_error(
        setup.person.http.post(url, content=b"{not json", headers=headers), 400, "invalid_json"
    )
    assert_error(setup.person.http.post(url, json={"notes": []}), 422, "invalid_body")
    error = assert_error(
        setup.person.http.post(url, json={"annotations": [setup.note(), 7, {}]}),
        422,
        "invalid_annotations",
    )
    assert [(e["index"], e["field"]) for e in error["details"]["errors"]] == [
        (1, ""),
        (2, "label_set_id"),
    ]

"""The shortcuts of bulk imports give the same answers as the careful paths: the typed decoding
of bulk bodies (``POST /datasets/{id}/annotations``) against the checks of plain JSON (``POST
/images/{id}/annotations``), both derived from ``datasets/shape.py``; the section scan and the
client's encoder."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Person
from tests.datasets.helpers import new_category, new_dataset, new_label_set, upload
from tests.factories import make_noise_image

from visionhub.client.formats import coco
from visionhub.client.transfer import _encoded_batches
from visionhub.datasets import shape

W, H = 40, 30
NAN, INF = float("nan"), float("inf")
# Values every field is tried with: the edges of each check (types, bools, NaN and infinities,
# the box's tolerance, polygon lengths), and values of the other fields.
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, 2, 5, 10, 11, 99, -1, 2**63, 0.5, 1.0, 1.5, -0.1, NAN, INF, -INF,
    "1", "", [], {}, [1, 2, 3, 4], [0, 0, W, H], [0, 0, W + 0.5, H], [0, 0, W + 0.6, H],
    [-0.5, 0, 1, 1], [-0.6, 0, 1, 1], [0, 0, -1, 1], [0, 0, INF, 1], [NAN, 0, 1, 1],
    [True, 0, 1, 1], [0, "0", 1, 1], [1, 2, 3], [[1, 2, 3, 4, 5, 6]], [[1, 2, 3, 4, 5]],
    [[1, 2, 3, 4]], [[True, 1, 2, 3, 4, 5]], [[1, 2, 3, 4, 5, NAN]], [[1, 2, 3, 4, 5, "6"]],
    [[1, 2, 3, 4, 5, [6]]], [[]], {"size": [H, W], "counts": [W * H]},
    {"size": [H, W], "counts": [5]}, [1, 2, 2, 3, 4, 1], 1e16,
]  # fmt: skip
FIELDS = [f.name for f in shape.SHAPE if f.name != "image_id"] + ["colour"]


@dataclass(frozen=True)
class Place:
    """Alice's dataset: an image, two categories (one with keypoints), two label sets."""

    person: Person
    image: int
    category: int
    keypoint_category: int
    bulk: int
    careful: int


@pytest.fixture(scope="module")
def place(alice: Person) -> Place:
    dataset = new_dataset(alice, "paths")["id"]
    image = upload(alice, dataset, make_noise_image(W, H, seed=4242))["id"]
    plain = new_category(alice, dataset, "plain")
    kp = new_category(alice, dataset, "kp", keypoint_names=["nose", "eye"])
    return Place(alice, image, plain, kp, new_label_set(alice, dataset, "bulk"),
                 new_label_set(alice, dataset, "careful"))  # fmt: skip


def valid(place: Place) -> dict[str, Any]:
    return {
        "image_id": place.image,
        "category_id": place.category,
        "bbox": [1.5, 2, 30, 20.25],
        "segmentation": [[1, 1, 10.5, 1, 10, 10], [2, 2, 3, 2, 3, 3, 2, 3]],
        "area": 81.0,
    }


def body(items: list[Any], label_set: int) -> bytes:
    """``{"annotations": items}`` into ``label_set`` (unless an item names its own), as JSON
    would be sent if it could: NaN and infinities too, which only the server refuses."""
    placed = [{"label_set_id": label_set, **i} if isinstance(i, dict) else i for i in items]
    return json.dumps({"annotations": placed}).encode()


def post(place: Place, path: str, content: bytes) -> httpx.Response:
    return place.person.http.post(
        path, content=content, headers={"Content-Type": "application/json"}
    )


def saved(place: Place, label_set: int) -> list[dict[str, Any]]:
    """The annotations of ``label_set`` in the order they were given, then none left."""
    url = f"/images/{place.image}/annotations"
    items = place.person.http.get(url, params={"label_set": label_set, "limit": 1000}).json()
    place.person.http.delete(url, params={"label_set": label_set})
    drop = {"id", "label_set_id", "created_at", "updated_at"}
    return [{k: v for k, v in a.items() if k not in drop} for a in items["items"]]


def agree(place: Place, items: list[Any]) -> None:
    """The bulk endpoint (typed decoding, the checks when it doubts) and the image endpoint
    (the checks of plain JSON, always) accept and refuse the same annotations, with the same
    errors, and save the same ones."""
    careful = post(place, f"/images/{place.image}/annotations", body(items, place.careful))
    dataset = place.person.http.get(f"/images/{place.image}").json()["dataset_id"]
    if careful.status_code == 400:  # not JSON (NaN, Infinity): both say so
        bulk = post(place, f"/datasets/{dataset}/annotations", body(items, place.bulk))
        assert (bulk.status_code, bulk.json()["error"]["code"]) == (400, "invalid_json")
        assert careful.json()["error"]["code"] == "invalid_json"
        return
    refused: dict[int, list[Any]] = {}
    if careful.status_code == 422:
        for error in careful.json()["error"]["details"]["errors"]:
            refused.setdefault(error["index"], []).append(error)
    else:
        assert careful.status_code == 201, careful.text
        saved(place, place.careful)
    for index, errors in refused.items():
        alone = post(place, f"/datasets/{dataset}/annotations", body([items[index]], place.bulk))
        assert alone.status_code == 422, (items[index], alone.text)
        assert [{**e, "index": index} for e in alone.json()["error"]["details"]["errors"]] == errors
    accepted = [item for i, item in enumerate(items) if i not in refused]
    if not accepted:
        return
    bulk = post(place, f"/datasets/{dataset}/annotations", body(accepted, place.bulk))
    assert bulk.status_code == 201, bulk.text
    again = post(place, f"/images/{place.image}/annotations", body(accepted, place.careful))
    assert again.status_code == 201, again.text
    assert saved(place, place.bulk) == saved(place, place.careful)


def test_both_paths_take_the_common_shapes_alike(place: Place) -> None:
    base = valid(place)
    agree(place, [
        base,
        {**base, "conf": 0.25, "is_group": True},
        {k: v for k, v in base.items() if k != "area"},  # area from the polygons
        {"image_id": place.image},
        {"image_id": place.image, "category_id": None, "bbox": [0, 0, W, H]},
        {"image_id": place.image, "category_id": place.keypoint_category,
         "keypoints": [1, 2, 2, 3, 4, 1]},
        {**base, "segmentation": {"size": [H, W], "counts": [W * H]}, "area": None},
        {**base, "compare_result": {"iou": 0.5}},
    ])  # fmt: skip


@pytest.mark.parametrize("field", FIELDS)
def test_both_paths_accept_and_refuse_the_same_values_of_each_field(
    place: Place, field: str
) -> None:
    base = valid(place)
    agree(place, [{**base, field: value} for value in ODD_VALUES])
    agree(place, [{k: v for k, v in base.items() if k != field}])


def test_an_image_id_of_true_is_not_taken_for_1(place: Place) -> None:
    dataset = place.person.http.get(f"/images/{place.image}").json()["dataset_id"]
    for image_id in (True, 1.0, [place.image]):
        item = {**valid(place), "image_id": image_id}
        response = post(place, f"/datasets/{dataset}/annotations", body([item], place.bulk))
        assert response.status_code == 422, response.text
        fields = [e["field"] for e in response.json()["error"]["details"]["errors"]]
        assert fields == ["image_id"], (image_id, response.text)


def test_both_paths_agree_on_random_annotations(place: Place) -> None:
    rng = random.Random(7)
    items: list[Any] = []
    for _ in range(300):
        item = valid(place)
        for field in rng.sample(FIELDS, rng.randint(1, 3)):
            item[field] = rng.choice(ODD_VALUES)
        items.append(item)
    agree(place, items)
    agree(place, [7, "x", None, [valid(place)]])


@pytest.mark.parametrize("chunk", [7, 20, 1 << 20])  # keys across reads, or not
def test_a_section_is_skipped_only_when_the_file_cannot_have_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(coco, "_SCAN_CHUNK", chunk)
    path = tmp_path / "coco.json"

    path.write_text(json.dumps({"images": [], "annotations": []}))
    assert coco.may_have_section(path, "annotations")
    assert not coco.may_have_section(path, "uncategorized")

    path.write_text(json.dumps({"images": [], "annotations": [], "uncategorized": []}))
    assert coco.may_have_section(path, "uncategorized")

    # A key spelled with an escape is found by the parser, so the scan must not rule it out.
    path.write_text('{"annotations": [], "uncategoriz\\u0065d": [{"caption": "a"}]}')
    assert coco.may_have_section(path, "uncategorized")
    assert list(coco.iter_section(path, "uncategorized")) == [{"caption": "a"}]


def test_bulk_bodies_hold_every_item_in_order_in_growing_batches() -> None:
    items = [{"image_id": i, "label_set_id": 1, "bbox": [0.5, 1, 2, 3]} for i in range(12_345)]

    batches = list(_encoded_batches(iter(items), 5000))

    assert [count for _, count in batches] == [2500, 5000, 4845]
    decoded = [orjson.loads(body) for body, _ in batches]
    assert all(set(body) == {"annotations"} for body in decoded)
    assert [note for body in decoded for note in body["annotations"]] == items
    assert list(_encoded_batches(iter([]), 5000)) == []


def test_bulk_bodies_are_what_json_would_send() -> None:
    odd = [
        {"image_id": 1, "category_id": None, "caption": "café ☕"},
        {"image_id": 2, "compare_result": {90: "FP"}},  # a key json turns into "90"
        {"image_id": 3, "area": 2**70},  # past orjson's 64 bits
    ]
    [(body, count)] = list(_encoded_batches(iter(odd), 10))
    assert count == 3
    assert json.loads(body) == json.loads(json.dumps({"annotations": odd}))

    for bad in (NAN, INF):
        with pytest.raises(ValueError, match="JSON compliant"):
            list(_encoded_batches(iter([{"image_id": 1, "area": bad}]), 10))
    assert math.isnan(NAN)  # (the values above are refused, not written as null)

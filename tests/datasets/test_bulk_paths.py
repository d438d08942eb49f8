"""The shortcuts of bulk imports give the same answers as the careful paths, in process (no
server, no database): the typed decoding and check of bulk bodies, the section scan, the
client's encoder."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from visionhub.client.formats import coco
from visionhub.client.transfer import _encoded_batches
from visionhub.datasets.services import annotations

W, H = 40, 30
CONTEXT = annotations._Context(
    sizes={1: (W, H), 2: (H, W)},
    keypoint_names={10: [], 11: ["nose", "eye"]},
    label_sets={5},
    matchable=set(),
)
VALID = {
    "image_id": 1,
    "label_set_id": 5,
    "category_id": 10,
    "bbox": [1.5, 2, 30, 20.25],
    "segmentation": [[1, 1, 10.5, 1, 10, 10], [2, 2, 3, 2, 3, 3, 2, 3]],
    "area": 81.0,
}
NAN, INF = float("nan"), float("inf")
# Values every field is tried with: the edges of each check (types, bools, NaN and infinities,
# the box's tolerance, polygon lengths), and values of the other fields.
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, 2, 5, 10, 11, 99, -1, 2**63, 0.5, 1.0, 1.5, -0.1, NAN, INF, -INF,
    "1", "", [], {}, [1, 2, 3, 4], [0, 0, W, H], [0, 0, W + 0.5, H], [0, 0, W + 0.6, H],
    [-0.5, 0, 1, 1], [-0.6, 0, 1, 1], [0, 0, -1, 1], [0, 0, INF, 1], [NAN, 0, 1, 1],
    [True, 0, 1, 1], [0, "0", 1, 1], [1, 2, 3], [[1, 2, 3, 4, 5, 6]], [[1, 2, 3, 4, 5]],
    [[1, 2, 3, 4]], [[True, 1, 2, 3, 4, 5]], [[1, 2, 3, 4, 5, NAN]], [[1, 2, 3, 4, 5, "6"]],
    [[1, 2, 3, 4, 5, [6]]], [[]], [(1, 2, 3, 4, 5, 6)], {"size": [H, W], "counts": [W * H]},
    {"size": [H, W], "counts": [5]}, [1, 2, 2, 3, 4, 1],
]  # fmt: skip
FIELDS = [*annotations.FIELDS, "colour"]


def _comparable(row: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """``row`` with its polygons' JSON text decoded (both paths write the same JSON, not
    always the same text: ``1e+16`` and ``1e16``)."""
    if row is None or row[10] is None:
        return row
    return (*row[:10], json.loads(row[10]), *row[11:])


def agree(item: Any) -> tuple[Any, Any]:
    """The typed path's row for ``item`` sent in a JSON body and the careful path's, after
    checking they agree: the typed path refuses the body only when it is not plain JSON or
    not of the annotation's types (the careful path then answers), and takes the item only
    with exactly the careful path's row; when it steps aside, ``_check`` of what it decoded
    accepts and refuses what ``_check`` of the plain JSON does, with the same row."""
    body = json.dumps({"annotations": [item]}).encode()  # NaN and Infinity: not JSON
    try:
        plain = orjson.loads(body)["annotations"][0]
    except orjson.JSONDecodeError:
        plain = None
    try:
        typed = annotations._BODY.decode(body).annotations[0]
    except msgspec.DecodeError:
        typed = None
    if plain is None:
        assert typed is None, item
        return None, None
    errors, careful = annotations._check(plain, None, CONTEXT)
    if typed is None:
        assert errors, item  # the types were wrong: the careful path says which
        return None, careful
    fast = annotations._typed_row(typed, CONTEXT)
    if fast is not None:
        assert errors == [], (item, errors)
        assert _comparable(fast) == _comparable(careful), item
    else:
        # The typed path's own check of the item; if it refuses, the service answers with
        # the careful path's check of the plain JSON.
        typed_errors, row = annotations._check(typed.as_dict(), None, CONTEXT)
        assert bool(typed_errors) == bool(errors), (item, typed_errors, errors)
        assert _comparable(row) == _comparable(careful), item
    return fast, careful


def test_the_fast_path_takes_the_common_shapes() -> None:
    shapes = [
        VALID,
        {**VALID, "conf": 0.25, "is_group": True},
        {k: v for k, v in VALID.items() if k != "area"},  # area from the polygons
        {"image_id": 2, "label_set_id": 5},
        {"image_id": 2, "label_set_id": 5, "category_id": None, "bbox": [0, 0, H, W]},
    ]
    for item in shapes:
        fast, careful = agree(item)
        assert fast is not None and fast == careful


@pytest.mark.parametrize("field", FIELDS)
def test_the_fast_path_never_accepts_what_the_checks_refuse(field: str) -> None:
    for value in ODD_VALUES:
        agree({**VALID, field: value})
    agree({k: v for k, v in VALID.items() if k != field})


def test_the_fast_path_agrees_on_random_annotations() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        item = dict(VALID)
        for field in rng.sample(FIELDS, rng.randint(1, 3)):
            item[field] = rng.choice(ODD_VALUES)
        agree(item)
    for item in (7, "x", None, [VALID], {**VALID, "segmentation": [[1.0] * 5 + [NAN]]}):
        agree(item)


def test_the_typed_path_takes_other_valid_shapes_through_the_checks() -> None:
    with_keypoints = {"image_id": 1, "label_set_id": 5, "category_id": 11,
                      "keypoints": [1, 2, 2, 3, 4, 1]}  # fmt: skip
    rle = {**VALID, "segmentation": {"size": [H, W], "counts": [W * H]}, "area": None}
    for item in (with_keypoints, rle, {**VALID, "compare_result": {"iou": 0.5}}):
        fast, careful = agree(item)
        assert fast is None and careful is not None, item


def test_image_ids_are_collected_without_taking_true_for_1() -> None:
    items = [{"image_id": True}, {"image_id": 1}, {"image_id": 1.0}, {"image_id": [1]}, 7]
    assert annotations._ints(items, "image_id") == [1]


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

"""How labels of independent labelers merge, and how their agreement is measured
(``visionhub.labeling.agreement``; the rules are in docs/labeling.md)."""

from __future__ import annotations

from typing import Any

import pytest

from visionhub.labeling.agreement import box_iou, iou, merge_image


def box(category: str, x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {"category": category, "bbox": [x, y, w, h], "segmentation": None, "keypoints": None}


def cls(category: str) -> dict[str, Any]:
    return {"category": category, "bbox": None, "segmentation": None, "keypoints": None}


def square_polygon(x: float, y: float, side: float) -> dict[str, Any]:
    return {"category": "cat", "bbox": None, "keypoints": None,
            "segmentation": [[x, y, x + side, y, x + side, y + side, x, y + side]]}  # fmt: skip


def test_box_iou_is_intersection_over_union() -> None:
    assert box_iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert box_iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [20, 20, 5, 5]) == 0.0


def test_polygons_are_compared_by_their_area_not_their_boxes() -> None:
    triangle = {"category": "cat", "bbox": None, "keypoints": None,
                "segmentation": [[0, 0, 100, 0, 0, 100]]}  # fmt: skip
    # The triangle's box is the square, but it covers half of it.
    assert iou(triangle, square_polygon(0, 0, 100)) == pytest.approx(0.5, abs=0.02)
    assert iou(square_polygon(0, 0, 100), square_polygon(50, 0, 100)) == pytest.approx(
        1 / 3, abs=0.02
    )


def test_the_majority_class_wins_and_a_tie_goes_to_the_first_name_alphabetically() -> None:
    merged = merge_image([(1, [cls("dog")]), (2, [cls("cat")]), (3, [cls("dog")])])
    assert [a["category"] for a in merged.annotations] == ["dog"]
    assert merged.agreement["class_agreement"] == pytest.approx(2 / 3, abs=1e-3)
    assert merged.labelers[2].summary()["class_agreement"] == 0.0

    tied = merge_image([(1, [cls("zebra")]), (2, [cls("ant")])])
    assert [a["category"] for a in tied.annotations] == ["ant"]


def test_several_classes_per_labeler_keep_those_given_by_at_least_half() -> None:
    merged = merge_image([
        (1, [cls("outdoor"), cls("day")]),
        (2, [cls("outdoor")]),
        (3, [cls("outdoor"), cls("night")]),
        (4, [cls("indoor")]),
    ])  # fmt: skip
    assert [a["category"] for a in merged.annotations] == ["outdoor"]


def test_boxes_cluster_by_iou_and_merge_into_their_mean() -> None:
    merged = merge_image([
        (1, [box("cat", 10, 10, 20, 20), box("dog", 60, 60, 10, 10)]),
        (2, [box("cat", 12, 10, 20, 20)]),
        (3, [box("dog", 11, 11, 20, 20)]),
    ])  # fmt: skip
    shapes = [a for a in merged.annotations if a["bbox"] is not None]
    # The three boxes around (10, 10) are one object; the lone box at (60, 60) is dropped:
    # one labeler of three is less than half.
    assert len(shapes) == 1
    assert shapes[0]["bbox"] == pytest.approx([11.0, 10.33, 20.0, 20.0], abs=0.01)
    assert shapes[0]["category"] == "cat"  # two votes against one
    assert merged.agreement["matched"] == pytest.approx(3 / 4)
    assert 0.8 < merged.agreement["mean_iou"] < 1.0
    assert merged.labelers[1].summary()["matched"] == 0.5


def test_a_shape_drawn_by_exactly_half_of_the_labelers_is_kept() -> None:
    merged = merge_image([(1, [box("cat", 0, 0, 10, 10)]), (2, [])])
    assert [a["bbox"] for a in merged.annotations] == [[0, 0, 10, 10]]
    assert merged.agreement["matched"] == 0.0


def test_one_labeler_never_appears_twice_in_a_cluster() -> None:
    merged = merge_image([
        (1, [box("cat", 0, 0, 10, 10), box("cat", 1, 0, 10, 10)]),
        (2, [box("cat", 0, 0, 10, 10)]),
    ])  # fmt: skip
    assert len(merged.annotations) == 2  # the pair, and labeler 1's second box (half: kept)
    assert merged.agreement["matched"] == pytest.approx(2 / 3, abs=1e-3)


def test_polygons_merge_into_the_member_that_overlaps_the_others_most() -> None:
    a, b, c = square_polygon(0, 0, 100), square_polygon(10, 0, 100), square_polygon(20, 0, 100)
    merged = merge_image([(1, [a]), (2, [b]), (3, [c])])
    assert [m["segmentation"] for m in merged.annotations] == [b["segmentation"]]

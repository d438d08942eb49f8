"""Checking annotation geometry: boxes, COCO polygons and RLE masks, keypoints; areas.

Each ``check_*`` returns ``None`` when the value is valid, else the reason in a few words.
"""

from __future__ import annotations

import math
from typing import Any

# A box may overhang the image by this much (pixels): float rounding in exported boxes.
BBOX_TOLERANCE = 0.5


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_bbox(bbox: Any, width: int, height: int) -> str | None:
    """``[x, y, w, h]`` with w, h >= 0, inside the ``width`` x ``height`` image."""
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        return "bbox must be four numbers [x, y, w, h]"
    x, y, w, h = bbox
    if w < 0 or h < 0:
        return "bbox width and height must not be negative"
    tol = BBOX_TOLERANCE
    if x < -tol or y < -tol or x + w > width + tol or y + h > height + tol:
        return f"bbox {bbox} is not inside the {width}x{height} image"
    return None


def check_segmentation(segmentation: Any, width: int, height: int) -> str | None:
    """COCO polygons ``[[x1, y1, x2, y2, x3, y3, …], …]`` or RLE ``{"size", "counts"}``."""
    if isinstance(segmentation, dict):
        return check_rle(segmentation, width, height)
    if not isinstance(segmentation, list) or not segmentation:
        return "segmentation must be a list of polygons or an RLE object"
    for polygon in segmentation:
        if not isinstance(polygon, list):
            return "each polygon must be a list of numbers"
        if len(polygon) % 2 or len(polygon) < 6:
            return "each polygon needs an even number of coordinates, at least 6"
        if not _all_finite(polygon):
            return "each polygon must be a list of numbers"
    return None


def _all_finite(values: list[Any]) -> bool:
    """Whether every value is a finite number: one C-level ``sum`` (a string or a list in
    ``values`` raises ``TypeError``, a NaN or infinity makes the sum non-finite)."""
    try:
        return math.isfinite(sum(values))
    except TypeError:
        return False


def check_rle(rle: dict[str, Any], width: int, height: int) -> str | None:
    """``size`` equal to ``[height, width]``; ``counts`` a list of run lengths or COCO's
    compressed string, covering exactly ``height * width`` pixels."""
    if set(rle) != {"size", "counts"}:
        return "an RLE mask has exactly the keys size and counts"
    size = rle["size"]
    if size != [height, width]:
        return f"RLE size {size} is not the image's [height, width] [{height}, {width}]"
    counts = rle["counts"]
    if isinstance(counts, str):
        try:
            counts = decode_rle_string(counts)
        except ValueError as exc:
            return f"RLE counts string is not valid: {exc}"
    elif not isinstance(counts, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in counts
    ):
        return "RLE counts must be a list of integers or a compressed string"
    if any(c < 0 for c in counts):
        return "RLE counts must not be negative"
    if sum(counts) != height * width:
        return f"RLE counts cover {sum(counts)} pixels, not {height * width}"
    return None


def decode_rle_string(text: str) -> list[int]:
    """The run lengths of a COCO compressed RLE string (pycocotools ``rleFrString``).

    Each count is a little-endian sequence of 5-bit groups in characters ``0``..``o``
    (48 + 0..63), bit 5 meaning "more follows" and the last group's bit 4 the sign; from the
    third count on, the value is stored as the difference to the count two places before.
    """
    counts: list[int] = []
    pos = 0
    while pos < len(text):
        value = 0
        shift = 0
        more = True
        while more:
            if pos >= len(text):
                raise ValueError("it ends in the middle of a number")
            c = ord(text[pos]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {text[pos]!r} is outside '0'..'o'")
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            pos += 1
            shift += 5
            if not more and c & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def check_keypoints(keypoints: Any, names: list[str]) -> str | None:
    """COCO ``[x1, y1, v1, …]``: one triplet per keypoint name of the category, v in 0, 1, 2."""
    if not names:
        return "the category has no keypoint names"
    if not isinstance(keypoints, list) or not all(_is_number(v) for v in keypoints):
        return "keypoints must be a list of numbers"
    if len(keypoints) != 3 * len(names):
        return f"keypoints need {3 * len(names)} numbers (x, y, v for {len(names)} names)"
    if any(v not in (0, 1, 2) for v in keypoints[2::3]):
        return "keypoint visibility must be 0, 1 or 2"
    return None


def polygon_area(polygons: list[list[float]]) -> float:
    """Sum of the shoelace areas of the polygons."""
    total = 0.0
    for poly in polygons:
        xs, ys = poly[0::2], poly[1::2]
        n = len(xs)
        twice = sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))
        total += abs(twice) / 2
    return total


def rle_area(rle: dict[str, Any]) -> int:
    """Foreground pixels of an RLE mask (runs alternate background, foreground, …)."""
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = decode_rle_string(counts)
    return int(sum(counts[1::2]))


def area_of(bbox: list[float] | None, segmentation: Any) -> float | None:
    """The area a COCO consumer expects: the mask's if there is one, else the box's."""
    if isinstance(segmentation, dict):
        return float(rle_area(segmentation))
    if isinstance(segmentation, list) and segmentation:
        return polygon_area(segmentation)
    if bbox is not None:
        return float(bbox[2] * bbox[3])
    return None


def count_visible(keypoints: list[float]) -> int:
    """COCO ``num_keypoints``: keypoints with v > 0."""
    return sum(1 for v in keypoints[2::3] if v > 0)

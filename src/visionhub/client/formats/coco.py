"""Reading COCO files: streamed sections, and COCO entries as VisionHub API payloads.

A COCO document is read with ijson, one section per pass (``images``, ``categories``,
``annotations``…): each pass parses in C and builds one entry at a time, so a file of a million
annotations never sits in memory. A detection results file (a JSON list of
``{image_id, category_id, bbox, score, segmentation?}``) is recognised by its first character.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

# Fields of a COCO image VisionHub stores in columns; the others travel in ``metadata``.
IMAGE_FIELDS = frozenset({"id", "file_name", "width", "height", "flag"})
# Fields of a COCO annotation VisionHub maps; extra ones are dropped on import.
SECTIONS = ("annotations", "uncategorized")


def is_results_file(path: Path) -> bool:
    """Whether ``path`` holds a JSON list (a results file) rather than a COCO document."""
    with path.open("rb") as fh:
        while chunk := fh.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1] == b"["
    return False


_SCAN_CHUNK = 1 << 20


def may_have_section(path: Path, section: str) -> bool:
    """False only when ``path`` certainly has no key ``section``: neither ``"section"`` nor a
    ``\\u`` escape (which could spell a key) appears in its bytes. A scan of the raw bytes
    costs a few ms per 10 MB, a pass of ijson over the whole file a hundred: an import skips
    the passes for sections the file does not have (``uncategorized``, in most files)."""
    needles = (b'"' + section.encode() + b'"', b"\\u")
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_SCAN_CHUNK):
            seam = tail + chunk[:overlap]  # a needle across two reads
            if any(needle in chunk or needle in seam for needle in needles):
                return True
            tail = chunk[-overlap:] if len(chunk) >= overlap else (tail + chunk)[-overlap:]
    return False


def iter_section(path: Path, section: str) -> Iterator[dict[str, Any]]:
    """The entries of the top-level list ``section`` of a COCO document, one at a time."""
    with path.open("rb") as fh:
        yield from ijson.items(fh, f"{section}.item", use_float=True)


def iter_results(path: Path) -> Iterator[dict[str, Any]]:
    """The entries of a results file."""
    with path.open("rb") as fh:
        yield from ijson.items(fh, "item", use_float=True)


def image_metadata(image: dict[str, Any]) -> dict[str, Any]:
    """What VisionHub keeps of a COCO image besides id, file name and size (license, url…)."""
    return {k: v for k, v in image.items() if k not in IMAGE_FIELDS}


def category_fields(category: dict[str, Any]) -> dict[str, Any]:
    """The ``POST /datasets/{id}/categories`` body for a COCO category."""
    fields: dict[str, Any] = {
        "name": str(category["name"]),
        "supercategory": str(category.get("supercategory") or ""),
        "keypoint_names": list(category.get("keypoints") or []),
        "keypoint_skeleton": [list(pair) for pair in category.get("skeleton") or []],
        "keypoint_colors": list(category.get("keypoint_colors") or []),
    }
    if isinstance(category.get("id"), int):
        fields["source_id"] = category["id"]
    return fields


def annotation_fields(
    entry: dict[str, Any], *, image_id: int, category_id: int | None, label_set_id: int
) -> dict[str, Any]:
    """A COCO annotation (or result, or caption) as a VisionHub annotation.

    ``iscrowd`` becomes ``is_group``, ``score`` ``conf``; an empty segmentation means none,
    and no category leaves ``category_id`` out (null is its default).
    """
    out: dict[str, Any] = {"image_id": image_id, "label_set_id": label_set_id}
    if category_id is not None:
        out["category_id"] = category_id
    get = entry.get  # one lookup per field: this runs for every annotation of an import
    if (bbox := get("bbox")) is not None:
        out["bbox"] = bbox
    if segmentation := get("segmentation"):
        out["segmentation"] = segmentation
    if (area := get("area")) is not None:
        out["area"] = area
    if get("iscrowd"):
        out["is_group"] = True
    if (keypoints := get("keypoints")) is not None:
        out["keypoints"] = keypoints
    if caption := get("caption"):
        out["caption"] = str(caption)
    if (score := get("score")) is not None:
        out["conf"] = score
    if (confirm_type := get("confirm_type")) is not None:
        out["confirm_type"] = confirm_type
    if (compare_result := get("compare_result")) is not None:
        out["compare_result"] = compare_result
    return out

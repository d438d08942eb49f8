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

    ``iscrowd`` becomes ``is_group``, ``score`` ``conf``; an empty segmentation means none.
    """
    out: dict[str, Any] = {
        "image_id": image_id,
        "label_set_id": label_set_id,
        "category_id": category_id,
    }
    if entry.get("bbox") is not None:
        out["bbox"] = entry["bbox"]
    if entry.get("segmentation"):
        out["segmentation"] = entry["segmentation"]
    if entry.get("area") is not None:
        out["area"] = entry["area"]
    if entry.get("iscrowd"):
        out["is_group"] = True
    if entry.get("keypoints") is not None:
        out["keypoints"] = entry["keypoints"]
    if entry.get("caption"):
        out["caption"] = str(entry["caption"])
    if entry.get("score") is not None:
        out["conf"] = entry["score"]
    for key in ("confirm_type", "compare_result"):
        if entry.get(key) is not None:
            out[key] = entry[key]
    return out

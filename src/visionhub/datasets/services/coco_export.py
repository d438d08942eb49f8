"""A dataset as a COCO JSON document, generated as a stream of text chunks.

Rows are read with server-side cursors and written out as they come, so exporting ten million
annotations holds a few thousand rows in memory at a time. What COCO has no field for is kept
in extra keys that COCO tools ignore and VisionHub's importer reads back: ``score`` (conf),
``caption``, ``confirm_type``, ``compare_result``, ``alpha_sha256`` on annotations, ``flag``
and the image's metadata on images, ``keypoint_colors`` on categories, and a top-level
``uncategorized`` list for annotations without a category (captions, mostly) when the label set
also has categorised ones: pycocotools demands a ``category_id`` on every entry of
``annotations``. A label set of uncategorised annotations only is written as a standard COCO
captions file, without ``categories``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from visionhub.datasets.models import (
    Annotation,
    AnnotationCount,
    Category,
    Dataset,
    Image,
    LabelKind,
    LabelSet,
)
from visionhub.datasets.services.geometry import count_visible

CHUNK_CHARS = 256 * 1024
_ROWS = 5_000
IMAGE_KEYS = frozenset({"id", "file_name", "width", "height", "flag"})


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _uses_source_ids(queryset: Any) -> bool:
    """Whether every row has a source id (then the export keeps the imported ids)."""
    return bool(queryset.exists()) and not queryset.filter(source_id__isnull=True).exists()


def _array(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield "["
    first = True
    for item in items:
        yield _dumps(item) if first else "," + _dumps(item)
        first = False
    yield "]"


def _images(dataset: Dataset, by_source: bool) -> Iterator[dict[str, Any]]:
    rows = (
        Image.objects.filter(dataset=dataset)
        .order_by("idx")
        .values_list("idx", "source_id", "filename", "width", "height", "metadata", "flag")
    )
    for idx, source_id, filename, width, height, metadata, flag in rows.iterator(_ROWS):
        item = {k: v for k, v in (metadata or {}).items() if k not in IMAGE_KEYS}
        item.update(
            id=source_id if by_source else idx + 1,
            file_name=filename,
            width=width,
            height=height,
        )
        if flag:
            item["flag"] = flag
        yield item


def _categories(dataset: Dataset, by_source: bool) -> Iterator[dict[str, Any]]:
    for category in Category.objects.filter(dataset=dataset).order_by("pk"):
        item: dict[str, Any] = {
            "id": category.source_id if by_source else category.pk,
            "name": category.name,
            "supercategory": category.supercategory,
        }
        if category.keypoint_names:
            item["keypoints"] = category.keypoint_names
            item["skeleton"] = category.keypoint_skeleton
        if category.keypoint_colors:
            item["keypoint_colors"] = category.keypoint_colors
        yield item


def _annotations(
    label_set: LabelSet, *, categorised: bool, images_by_source: bool, cats_by_source: bool
) -> Iterator[dict[str, Any]]:
    rows = (
        Annotation.objects.filter(label_set=label_set, category__isnull=not categorised)
        .order_by("id")
        .values_list(
            "id",
            "image__source_id" if images_by_source else "image__idx",
            "category__source_id" if cats_by_source else "category_id",
            "conf",
            "is_group",
            "bbox_x",
            "bbox_y",
            "bbox_w",
            "bbox_h",
            "area",
            "segmentation",
            "keypoints",
            "caption",
            "confirm_type",
            "compare_result",
            "alpha_sha256",
        )
    )
    with_score = label_set.kind == LabelKind.PRED
    for row in rows.iterator(_ROWS):
        (pk, image, category, conf, is_group, x, y, w, h, area, segmentation, keypoints) = row[:12]
        caption, confirm_type, compare_result, alpha = row[12:]
        item: dict[str, Any] = {
            "id": pk,
            "image_id": image if images_by_source else image + 1,
        }
        if categorised:
            item["category_id"] = category
            item["iscrowd"] = int(is_group)
        if segmentation is not None:
            item["segmentation"] = segmentation
        if area is not None:
            item["area"] = area
        if x is not None:
            item["bbox"] = [x, y, w, h]
        if keypoints is not None:
            item["keypoints"] = keypoints
            item["num_keypoints"] = count_visible(keypoints)
        if caption:
            item["caption"] = caption
        if with_score or conf != 1.0:
            item["score"] = conf
        if is_group and not categorised:
            item["iscrowd"] = 1
        if confirm_type:
            item["confirm_type"] = confirm_type
        if compare_result is not None:
            item["compare_result"] = compare_result
        if alpha:
            item["alpha_sha256"] = alpha
        yield item


def _chunked(pieces: Iterable[str]) -> Iterator[str]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def export_coco(dataset: Dataset, label_set: LabelSet | None) -> Iterator[str]:
    """The COCO document of ``dataset`` with the annotations of ``label_set`` (none if
    ``None``), as text chunks of about 256 KB.

    Image ids are the imported COCO ids when every image has one, else ``idx + 1``; category
    ids likewise the imported ones, else VisionHub's; annotation ids are VisionHub's.
    """
    return _chunked(_document(dataset, label_set))


def _document(dataset: Dataset, label_set: LabelSet | None) -> Iterator[str]:
    images_by_source = _uses_source_ids(Image.objects.filter(dataset=dataset))
    cats_by_source = _uses_source_ids(Category.objects.filter(dataset=dataset))
    keys: set[int] = set()
    if label_set is not None:
        keys = set(
            AnnotationCount.objects.filter(label_set=label_set, num_annotations__gt=0).values_list(
                "category_key", flat=True
            )
        )
    captions_only = keys == {0}
    info = {
        "description": dataset.description or dataset.display_name or dataset.name,
        "contributor": dataset.owner.username,
        "date_created": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "visionhub": {
            "dataset": dataset.name,
            "label_set": label_set.name if label_set else None,
            "kind": label_set.kind if label_set else None,
        },
    }
    yield '{"info":' + _dumps(info) + ',"licenses":[],"images":'
    yield from _array(_images(dataset, images_by_source))
    if not captions_only:
        yield ',"categories":'
        yield from _array(_categories(dataset, cats_by_source))
    yield ',"annotations":'
    if label_set is None:
        yield "[]"
    else:
        options = {"images_by_source": images_by_source, "cats_by_source": cats_by_source}
        yield from _array(_annotations(label_set, categorised=not captions_only, **options))
        if 0 in keys and not captions_only:
            yield ',"uncategorized":'
            yield from _array(_annotations(label_set, categorised=False, **options))
    yield "}"

"""Reading a label set from the database, one chunk of images at a time, as ``Instances``.

Images are walked in id order (pycocotools' image order) by keyset, ``CHUNK_IMAGES`` at a
time; each chunk's annotations come in one query per label set (``image_id = ANY(…)``,
served by the ``(image, label_set)`` index) as plain tuples turned into numpy columns. At no
time does a label set exist as Python objects beyond one chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from django.db import connection

from visionhub.core import db
from visionhub.datasets.models import Image
from visionhub.evaluation.engine import overlap
from visionhub.evaluation.engine.instances import Instances
from visionhub.evaluation.engine.params import Params

CHUNK_IMAGES = 2000


@dataclass
class ImageChunk:
    ids: np.ndarray
    heights: dict[int, int]
    widths: dict[int, int]


def image_chunks(dataset_id: int, size: int = CHUNK_IMAGES) -> Iterator[ImageChunk]:
    last = 0
    while True:
        rows = list(
            Image.objects.filter(dataset_id=dataset_id, id__gt=last)
            .order_by("id")
            .values_list("id", "height", "width")[:size]
        )
        if not rows:
            return
        yield ImageChunk(
            ids=np.array([r[0] for r in rows], np.int64),
            heights={r[0]: r[1] for r in rows},
            widths={r[0]: r[2] for r in rows},
        )
        last = rows[-1][0]


_BASE = "id, image_id, category_id, conf, is_group, bbox_x, bbox_y, bbox_w, bbox_h, area"


_GEOMETRY = {"bbox": "box", "segm": "segmentation", "keypoints": "keypoints"}


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def load(label_set_id: int, chunk: ImageChunk, params: Params, *, ground_truth: bool) -> Instances:
    """The annotations of one label set on the chunk's images, in id order.

    Areas follow pycocotools: a ground truth's is its stored ``area`` (computed from its
    geometry when missing); a detection's is what ``COCO.loadRes`` gives it, the box's
    ``w * h`` when it has a box, else the mask's area or the keypoints' extent.
    """
    kind = params.iou_type
    extra = ", segmentation" if kind == "segm" else ", keypoints" if kind == "keypoints" else ""
    where, args = db.id_in("image_id", chunk.ids.tolist())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_BASE}{extra} FROM datasets_annotation "  # noqa: S608 - constants only
            f"WHERE label_set_id = %s AND category_id IS NOT NULL AND {where} ORDER BY id",
            [label_set_id, *args],
        )
        rows = cursor.fetchall()
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if n else [()] * (10 + bool(extra))
    bbox = np.array(list(zip(*cols[5:9], strict=True)), dtype=np.float64).reshape(n, 4)
    has_box = np.asarray(~np.isnan(bbox).any(axis=1))
    needed = has_box if kind == "bbox" else np.array([v is not None for v in cols[-1]], bool)
    # Checked when the evaluation was created; an annotation added since may lack it. (A
    # ground truth without keypoints is a crowd region or has none visible: it is ignored.)
    if n and not needed.all() and (kind != "keypoints" or not ground_truth):
        missing = cols[0][int(np.flatnonzero(~needed)[0])]
        raise ValueError(f"annotation {missing} has no {_GEOMETRY[kind]} (iou_type {kind})")
    instances = Instances(
        ids=np.array(cols[0], np.int64),
        image=np.array(cols[1], np.int64),
        category=np.array(cols[2], np.int64),
        score=np.array(cols[3], np.float64) if not ground_truth else np.ones(n),
        area=np.array(cols[9], dtype=np.float64) if ground_truth else np.full(n, np.nan),
        crowd=np.array(cols[4], np.bool_) if ground_truth else np.zeros(n, np.bool_),
        bbox=np.where(has_box[:, None], bbox, 0.0),
    )
    if kind == "segm":
        instances.masks = [
            overlap.rle_of(_json(seg), chunk.heights[img], chunk.widths[img]) if seg else None
            for seg, img in zip(cols[10], cols[1], strict=True)
        ]
    if kind == "keypoints":
        k = len(params.sigmas)
        points = np.zeros((n, k, 3))
        for i, value in enumerate(cols[10]):
            if value:
                flat = np.asarray(_json(value), dtype=np.float64)
                if flat.size != 3 * k:
                    raise ValueError(
                        f"annotation {cols[0][i]} has {flat.size // 3} keypoints; the "
                        f"evaluation's sigmas name {k} (params.kpt_oks_sigmas)"
                    )
                points[i] = flat.reshape(k, 3)
        instances.keypoints = points
    _fill_areas(instances, has_box, ground_truth=ground_truth, kind=kind)
    return instances


def _fill_areas(
    instances: Instances, has_box: np.ndarray, *, ground_truth: bool, kind: str
) -> None:
    area = instances.area
    missing = np.isnan(area)
    if not missing.any():
        return
    box_area = instances.bbox[:, 2] * instances.bbox[:, 3]
    use_box = missing & has_box if not ground_truth or kind == "bbox" else np.zeros_like(missing)
    area[use_box] = box_area[use_box]
    rest = np.flatnonzero(np.isnan(area))
    if kind == "segm" and instances.masks is not None:
        for i in rest:
            mask = instances.masks[i]
            area[i] = overlap.mask_area(mask) if mask is not None else 0.0
    elif kind == "keypoints" and instances.keypoints is not None:
        x, y = instances.keypoints[rest, :, 0], instances.keypoints[rest, :, 1]
        area[rest] = (x.max(axis=1) - x.min(axis=1)) * (y.max(axis=1) - y.min(axis=1))
    area[np.isnan(area)] = box_area[np.isnan(area)]

"""pycocotools, the oracle: COCOeval on a generated set, and the set as engine Instances."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from visionhub.evaluation.engine import overlap
from visionhub.evaluation.engine.instances import Instances


def coco_eval(data: dict[str, Any], iou_type: str) -> COCOeval:
    """COCOeval run to its summary, quietly."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy({k: data[k] for k in ("images", "categories", "annotations")})
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(data["results"])) if data["results"] else COCO()
        evaluator = COCOeval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def instances(data: dict[str, Any], iou_type: str, *, ground_truth: bool) -> Instances:
    """The set's ground truths (ids as in the file) or results (ids 1, 2, … as loadRes)."""
    rows = data["annotations"] if ground_truth else data["results"]
    size = {img["id"]: (img["height"], img["width"]) for img in data["images"]}
    n = len(rows)
    bbox = np.array([r.get("bbox", [0, 0, 0, 0]) for r in rows], dtype=float).reshape(n, 4)
    out = Instances(
        ids=np.array([r["id"] for r in rows] if ground_truth else np.arange(1, n + 1), np.int64),
        image=np.array([r["image_id"] for r in rows], np.int64),
        category=np.array([r["category_id"] for r in rows], np.int64),
        score=np.array([r.get("score", 1.0) for r in rows], float),
        area=np.zeros(n),
        crowd=np.array([bool(r.get("iscrowd", 0)) for r in rows]),
        bbox=bbox,
    )
    if iou_type == "segm":
        out.masks = [overlap.rle_of(r["segmentation"], *size[r["image_id"]]) for r in rows]
    if iou_type == "keypoints":
        out.keypoints = np.array([r["keypoints"] for r in rows], float).reshape(n, 17, 3)
    if ground_truth:
        out.area = np.array([r["area"] for r in rows], float)
    elif iou_type == "bbox":
        out.area = bbox[:, 2] * bbox[:, 3]
    elif iou_type == "segm":
        out.area = np.array([overlap.mask_area(m) for m in out.masks or []], float)
        out.bbox = np.array([overlap.mask_api.toBbox(m) for m in out.masks or []]).reshape(n, 4)
    else:
        assert out.keypoints is not None
        x, y = out.keypoints[:, :, 0], out.keypoints[:, :, 1]
        out.area = (x.max(1) - x.min(1)) * (y.max(1) - y.min(1))
    return out

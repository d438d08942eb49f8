"""IoU of boxes and masks, and OKS of keypoints, for padded groups ``[B, D, G]``.

Box IoU repeats pycocotools' ``bbIou`` (maskApi.c) operation for operation in float64, so
its values are bit-identical; mask IoU calls pycocotools' C mask API; OKS repeats
``COCOeval.computeOks`` and sums each pair's terms over exactly the visible keypoints, in
their order, so that its floats match too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pycocotools.mask as mask_api

from visionhub.evaluation.engine.instances import Floats, Instances, Ints


def _gather(values: Floats, index: Ints) -> Floats:
    """``values[index]`` with ``-1`` (padding) giving zeros."""
    out = values[np.maximum(index, 0)]
    out[index < 0] = 0
    return out


def box_iou(dt: Instances, gt: Instances, dt_index: Ints, gt_index: Ints) -> Floats:
    """IoU ``[B, D, G]``; for a crowd ground truth, intersection over the detection's area."""
    d = _gather(dt.bbox, dt_index)[:, :, None, :]  # [B, D, 1, 4]
    g = _gather(gt.bbox, gt_index)[:, None, :, :]  # [B, 1, G, 4]
    crowd = _gather(gt.crowd.astype(np.float64), gt_index)[:, None, :] > 0
    ga = g[..., 2] * g[..., 3]
    da = d[..., 2] * d[..., 3]
    w = np.minimum(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.maximum(d[..., 1], g[..., 1])
    inter = w * h
    union = np.where(crowd, da, da + ga - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    iou[(w <= 0) | (h <= 0)] = 0.0
    iou[(dt_index < 0)[:, :, None] | (gt_index < 0)[:, None, :]] = 0.0
    out: Floats = np.nan_to_num(iou, nan=0.0)
    return out


def mask_iou(dt: Instances, gt: Instances, dt_index: Ints, gt_index: Ints) -> Floats:
    """Mask IoU ``[B, D, G]`` by pycocotools' C API, one call per group."""
    assert dt.masks is not None and gt.masks is not None
    out = np.zeros(dt_index.shape + gt_index.shape[1:])
    for b in range(dt_index.shape[0]):
        ds = [dt.masks[i] for i in dt_index[b] if i >= 0]
        gs = [gt.masks[i] for i in gt_index[b] if i >= 0]
        if ds and gs:
            crowd = [int(gt.crowd[i]) for i in gt_index[b] if i >= 0]
            out[b, : len(ds), : len(gs)] = mask_api.iou(ds, gs, crowd)
    return out


def oks(dt: Instances, gt: Instances, dt_index: Ints, gt_index: Ints, sigmas: Floats) -> Floats:
    """Object keypoint similarity ``[B, D, G]``, as ``COCOeval.computeOks``."""
    assert dt.keypoints is not None and gt.keypoints is not None
    k = len(sigmas)
    variances = (sigmas * 2) ** 2
    dk = _gather(dt.keypoints.reshape(len(dt), -1), dt_index).reshape(*dt_index.shape, k, 3)
    gk = _gather(gt.keypoints.reshape(len(gt), -1), gt_index).reshape(*gt_index.shape, k, 3)
    gbox = _gather(gt.bbox, gt_index)
    garea = _gather(gt.area, gt_index)
    xd, yd = dk[:, :, None, :, 0], dk[:, :, None, :, 1]  # [B, D, 1, K]
    xg, yg, vg = gk[:, None, :, :, 0], gk[:, None, :, :, 1], gk[:, None, :, :, 2]
    visible = vg > 0  # [B, 1, G, K]
    k1 = np.count_nonzero(visible, axis=-1)  # [B, 1, G]
    x0 = (gbox[..., 0] - gbox[..., 2])[:, None, :, None]
    x1 = (gbox[..., 0] + gbox[..., 2] * 2)[:, None, :, None]
    y0 = (gbox[..., 1] - gbox[..., 3])[:, None, :, None]
    y1 = (gbox[..., 1] + gbox[..., 3] * 2)[:, None, :, None]
    some = (k1 > 0)[..., None]
    dx = np.where(some, xd - xg, np.maximum(0, x0 - xd) + np.maximum(0, xd - x1))
    dy = np.where(some, yd - yg, np.maximum(0, y0 - yd) + np.maximum(0, yd - y1))
    e = (dx**2 + dy**2) / variances / (garea[:, None, :, None] + np.spacing(1)) / 2
    # The terms COCO sums: the visible keypoints (all K when none is visible), moved to the
    # front in their order so that each pair's sum adds the same floats in the same order.
    counted = np.where(some, visible, True)
    order = np.argsort(~counted, axis=-1, kind="stable")
    terms = np.exp(
        -np.take_along_axis(np.broadcast_to(e, e.shape), np.broadcast_to(order, e.shape), -1)
    )
    counts = np.broadcast_to(np.where(k1 > 0, k1, k), e.shape[:-1])
    out = np.zeros(e.shape[:-1])
    for c in np.unique(counts):
        where = counts == c
        out[where] = np.sum(terms[where][:, :c], axis=-1) / c
    out[(dt_index < 0)[:, :, None] | (gt_index < 0)[:, None, :]] = 0.0
    return out


def rle_of(segmentation: Any, height: int, width: int) -> Any:
    """pycocotools' ``annToRLE``: polygons and uncompressed RLE to a compressed RLE."""
    if isinstance(segmentation, list):
        return mask_api.merge(mask_api.frPyObjects(segmentation, height, width))
    if isinstance(segmentation.get("counts"), list):
        return mask_api.frPyObjects(segmentation, height, width)
    return segmentation


def mask_area(rle: Any) -> float:
    return float(mask_api.area(rle))

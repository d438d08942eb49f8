"""COCO evaluation of one chunk of images, and of a whole in-memory set."""

from __future__ import annotations

from functools import partial

import numpy as np

from visionhub.evaluation.engine import overlap
from visionhub.evaluation.engine.accumulate import Accumulator
from visionhub.evaluation.engine.instances import Bools, Instances, Ints
from visionhub.evaluation.engine.matching import Matches, Overlap, match
from visionhub.evaluation.engine.params import Params


def overlap_for(params: Params) -> Overlap:
    if params.iou_type == "bbox":
        return overlap.box_iou
    if params.iou_type == "segm":
        return overlap.mask_iou
    return partial(overlap.oks, sigmas=params.sigmas)


def outside(area: np.ndarray, params: Params) -> Bools:
    """``[A, n]``: outside each area range (both ends inclusive, as pycocotools)."""
    lo = np.array([r[0] for r in params.area_ranges])[:, None]
    hi = np.array([r[1] for r in params.area_ranges])[:, None]
    return (area[None, :] < lo) | (area[None, :] > hi)


def ground_truth_ignored(gt: Instances, params: Params) -> Bools:
    ignored = outside(gt.area, params) | gt.crowd[None, :]
    if params.iou_type == "keypoints" and gt.keypoints is not None:
        ignored |= (np.count_nonzero(gt.keypoints[:, :, 2] > 0, axis=1) == 0)[None, :]
    return ignored


def in_categories(instances: Instances, categories: Ints) -> Instances:
    return instances.take(np.isin(instances.category, categories))


def match_chunk(gt: Instances, dt: Instances, params: Params) -> Matches:
    """``evaluateImg`` for every (image, category) of the chunk, every area range."""
    return match(
        gt,
        dt,
        thresholds=params.iou_thresholds,
        gt_ignore=ground_truth_ignored(gt, params),
        dt_outside=outside(dt.area, params),
        max_det=params.max_dets[-1],
        overlap=overlap_for(params),
    )


def evaluate_in_memory(
    gt: Instances, dt: Instances, params: Params, categories: Ints
) -> tuple[Accumulator, Matches]:
    """The whole set at once (benchmarks, tests): match, then accumulate."""
    gt = in_categories(gt, categories)
    dt = in_categories(dt, categories)
    matches = match_chunk(gt, dt, params)
    acc = Accumulator(params, np.sort(categories))
    acc.add(gt, dt, matches)
    return acc, matches

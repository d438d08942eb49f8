"""Seed 004's FP / FN analysis (DeepDataSpace's ``calculate_fnfp``, its rough edges fixed).

1. Match at IoU 0.5 per image and category, crowd ground truths left out: predictions in
   descending confidence each take the free ground truth of highest IoU at or above 0.5
   (``match_for_errors``; COCO's greedy rule with one threshold and no detection cap).
2. Over the whole label set, precision after each prediction in confidence order, made
   monotone (raised to the best precision at any lower confidence). For each level
   p = 0.9 … 0.1 the threshold is the lowest confidence whose precision lies in [p, p + 0.1)
   (0.9 includes 1.0); a level no prediction reaches has no threshold (``precision_levels``).
3. At a level's threshold a prediction at or above it is ``OK`` if matched, ``FP`` if not
   (below it, it has no entry for that level); a ground truth is ``OK`` if its matched
   prediction is at or above the threshold, ``FN`` otherwise (``results_at_levels``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visionhub.evaluation.engine.instances import Floats, Instances, Ints
from visionhub.evaluation.engine.matching import Overlap, match

LEVELS = (90, 80, 70, 60, 50, 40, 30, 20, 10)
IOU = 0.5


@dataclass
class ErrorMatches:
    """Per prediction, the row of the ground truth it took (-1: none); per ground truth,
    the confidence of the prediction that took it (-inf: none). Crowd rows take no part."""

    dt_gt: Ints
    gt_conf: Floats


def match_for_errors(gt: Instances, dt: Instances, overlap: Overlap) -> ErrorMatches:
    plain = np.flatnonzero(~gt.crowd)
    gt_plain = gt.take(plain)
    none = np.zeros((1, len(gt_plain)), np.bool_)
    found = match(
        gt_plain,
        dt,
        thresholds=np.array([IOU]),
        gt_ignore=none,
        dt_outside=np.zeros((1, len(dt)), np.bool_),
        max_det=None,
        overlap=overlap,
    )
    dt_gt = np.full(len(dt), -1, np.int64)
    taken = found.dt_match[0, 0]
    dt_gt[found.dt_order] = np.where(taken >= 0, plain[np.maximum(taken, 0)], -1)
    gt_conf = np.full(len(gt), -np.inf)
    by = found.gt_match[0, 0]
    gt_conf[plain] = np.where(by >= 0, dt.score[np.maximum(by, 0)], -np.inf)
    return ErrorMatches(dt_gt=dt_gt, gt_conf=gt_conf)


@dataclass
class Level:
    level: int  # 90 … 10
    threshold: float | None
    recall: float | None
    precision: float | None  # the precision at the threshold

    def as_dict(self) -> dict[str, object]:
        return {
            "precision": self.level / 100,
            "threshold": self.threshold,
            "recall": self.recall,
            "reached": self.threshold is not None,
            "precision_at_threshold": self.precision,
        }


def precision_levels(conf: Floats, matched: np.ndarray, num_gt: int) -> list[Level]:
    """``compare_precisions``: the threshold of each precision level over the label set."""
    order = np.lexsort((np.arange(len(conf)), -conf))
    hits = matched[order].astype(np.float64)
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(conf) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    sorted_conf = conf[order]
    # Several predictions of one confidence share a threshold: only the last of each
    # confidence is a place where the precision can be read.
    last_of_conf = np.r_[sorted_conf[1:] != sorted_conf[:-1], True] if len(conf) else hits > 0
    out = []
    for level in LEVELS:
        lo, hi = (level // 10) / 10, (level // 10 + 1) / 10
        band = (precision >= lo) & ((precision < hi) if level != 90 else True) & last_of_conf
        where = np.flatnonzero(band)
        if not len(where):
            out.append(Level(level, None, None, None))
            continue
        i = int(where[-1])
        recall = float(tp[i] / num_gt) if num_gt else 0.0
        out.append(Level(level, float(sorted_conf[i]), recall, float(precision[i])))
    return out


def results_at_levels(
    levels: list[Level], dt_conf: Floats, dt_matched: np.ndarray, gt_conf: Floats
) -> tuple[np.ndarray, np.ndarray]:
    """Per level (rows, in ``LEVELS`` order): predictions 0 = below, 1 = OK, 2 = FP;
    ground truths 1 = OK, 3 = FN (0 for a level not reached)."""
    dt_codes = np.zeros((len(levels), len(dt_conf)), np.int8)
    gt_codes = np.zeros((len(levels), len(gt_conf)), np.int8)
    for row, level in enumerate(levels):
        if level.threshold is None:
            continue
        above = dt_conf >= level.threshold
        dt_codes[row] = np.where(above, np.where(dt_matched, 1, 2), 0)
        gt_codes[row] = np.where(gt_conf >= level.threshold, 1, 3)
    return dt_codes, gt_codes


CODE_NAMES = {1: "OK", 2: "FP", 3: "FN"}

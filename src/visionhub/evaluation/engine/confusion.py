"""The confusion matrix of a detection label set, with a background class.

Per image, categories pooled: predictions at or above ``confidence``, by descending
confidence, each take the free non-crowd ground truth of highest IoU at or above ``iou``,
whatever its category (COCO's greedy rule). A taken pair counts in (ground truth's category,
prediction's category); a prediction that takes nothing in (background, its category); a
ground truth nobody takes in (its category, background). Rows are ground truth, columns
predictions; the last row and column are the background.
"""

from __future__ import annotations

import numpy as np

from visionhub.evaluation.engine.instances import Instances, Ints
from visionhub.evaluation.engine.matching import Overlap, match


def confusion_counts(
    gt: Instances,
    dt: Instances,
    categories: Ints,
    *,
    iou: float,
    confidence: float,
    overlap: Overlap,
) -> Ints:
    """``[K + 1, K + 1]`` counts for one chunk; ``categories`` ascending."""
    k = len(categories)
    gt = gt.take(~gt.crowd & np.isin(gt.category, categories))
    dt = dt.take((dt.score >= confidence) & np.isin(dt.category, categories))
    found = match(
        gt,
        dt,
        thresholds=np.array([iou]),
        gt_ignore=np.zeros((1, len(gt)), np.bool_),
        dt_outside=np.zeros((1, len(dt)), np.bool_),
        max_det=None,
        overlap=overlap,
        pooled=True,
    )
    counts = np.zeros((k + 1, k + 1), np.int64)
    dt_cat = np.searchsorted(categories, dt.category[found.dt_order])
    taken = found.dt_match[0, 0]
    gt_cat = np.where(taken >= 0, np.searchsorted(categories, gt.category[np.maximum(taken, 0)]), k)
    np.add.at(counts, (gt_cat, dt_cat), 1)
    missed = found.gt_match[0, 0] < 0
    np.add.at(counts, (np.searchsorted(categories, gt.category[missed]), k), 1)
    return counts

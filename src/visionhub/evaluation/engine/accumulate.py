"""COCO's ``accumulate`` and ``summarize``, fed chunk by chunk.

An ``Accumulator`` keeps, per detection kept by the matching, only what the precision and
recall tables need (category, image, rank, score, and per area range two bit masks over the
IoU thresholds: true positive, ignored), about 30 bytes each, and per (category, area range)
the number of ground truths not ignored. ``tables`` then repeats ``COCOeval.accumulate``
step for step, with pycocotools' stable score order, so its precision, recall and score
arrays are pycocotools'; ``summarize`` gives the 12 (10 for keypoints) stats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from visionhub.evaluation.engine.instances import Floats, Instances, Ints
from visionhub.evaluation.engine.matching import Matches
from visionhub.evaluation.engine.params import Params


@dataclass
class Tables:
    precision: Floats  # [T, R, K, A, M], -1 where undefined
    recall: Floats  # [T, K, A, M]
    scores: Floats  # [T, R, K, A, M]


@dataclass
class Accumulator:
    params: Params
    categories: Ints  # the evaluated category ids, ascending (pycocotools' catIds)
    _parts: list[dict[str, Any]] = field(default_factory=list)
    _npig: Ints | None = None

    def __post_init__(self) -> None:
        self._npig = np.zeros((len(self.categories), len(self.params.area_ranges)), np.int64)

    def category_index(self, category: Ints) -> Ints:
        return np.searchsorted(self.categories, category)

    def add(self, gt: Instances, dt: Instances, matches: Matches) -> None:
        """Record one chunk (its images after those of every earlier chunk)."""
        assert self._npig is not None
        weights = 1 << np.arange(len(self.params.iou_thresholds), dtype=np.int64)
        matched = matches.dt_match >= 0  # [A, T, n]
        tp = (matched & ~matches.dt_ignore).astype(np.int64)
        ign = matches.dt_ignore.astype(np.int64)
        rows = matches.dt_order
        self._parts.append(
            {
                "k": self.category_index(dt.category[rows]).astype(np.int32),
                "image": dt.image[rows],
                "rank": matches.dt_rank.astype(np.int32),
                "score": dt.score[rows],
                "tp": np.einsum("atn,t->na", tp, weights).astype(np.uint16),
                "ig": np.einsum("atn,t->na", ign, weights).astype(np.uint16),
            }
        )
        k = self.category_index(gt.category)
        for a in range(len(self.params.area_ranges)):
            np.add.at(self._npig[:, a], k[~matches.gt_ignore[a]], 1)

    def tables(self) -> Tables:
        assert self._npig is not None
        p = self.params
        n_t, n_r, n_k = len(p.iou_thresholds), len(p.recall_thresholds), len(self.categories)
        n_a, n_m = len(p.area_ranges), len(p.max_dets)
        precision = -np.ones((n_t, n_r, n_k, n_a, n_m))
        recall = -np.ones((n_t, n_k, n_a, n_m))
        scores = -np.ones((n_t, n_r, n_k, n_a, n_m))
        if self._parts:
            cols = {
                key: np.concatenate([part[key] for part in self._parts]) for key in self._parts[0]
            }
        else:
            cols = {"k": np.zeros(0, np.int32)}
        by_k = np.argsort(cols["k"], kind="stable")
        bounds = np.searchsorted(cols["k"][by_k], np.arange(n_k + 1))
        bits = np.arange(n_t, dtype=np.uint16)
        for k in range(n_k):
            rows = by_k[bounds[k] : bounds[k + 1]]
            # pycocotools concatenates images in id order, each by rank, then sorts the
            # scores with a stable sort: the same as this three-key sort.
            if len(rows):
                rows = rows[
                    np.lexsort((cols["rank"][rows], cols["image"][rows], -cols["score"][rows]))
                ]
            for a in range(n_a):
                npig = int(self._npig[k, a])
                if npig == 0:
                    continue
                tps = ((cols["tp"][rows, a][None, :] >> bits[:, None]) & 1).astype(bool)
                igs = ((cols["ig"][rows, a][None, :] >> bits[:, None]) & 1).astype(bool)
                for m, max_det in enumerate(p.max_dets):
                    keep = cols["rank"][rows] < max_det
                    self._fill(
                        precision,
                        recall,
                        scores,
                        k,
                        a,
                        m,
                        npig,
                        tps[:, keep],
                        igs[:, keep],
                        cols["score"][rows][keep],
                    )
        return Tables(precision=precision, recall=recall, scores=scores)

    def _fill(
        self,
        precision: Floats,
        recall: Floats,
        scores: Floats,
        k: int,
        a: int,
        m: int,
        npig: int,
        tps: Any,
        igs: Any,
        sorted_scores: Floats,
    ) -> None:
        """One (category, area, maxDets) cell of ``COCOeval.accumulate``, every threshold."""
        p = self.params
        fps = ~tps & ~igs
        tp_sum = np.cumsum(tps, axis=1, dtype=float)
        fp_sum = np.cumsum(fps, axis=1, dtype=float)
        nd = tp_sum.shape[1]
        rc = tp_sum / npig
        pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
        recall[:, k, a, m] = rc[:, -1] if nd else 0
        if not nd:
            precision[:, :, k, a, m] = 0
            scores[:, :, k, a, m] = 0
            return
        pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
        inds = np.stack([np.searchsorted(row, p.recall_thresholds, side="left") for row in rc])
        inside = inds < nd
        clipped = np.minimum(inds, nd - 1)
        precision[:, :, k, a, m] = np.where(inside, np.take_along_axis(pr, clipped, 1), 0)
        scores[:, :, k, a, m] = np.where(inside, sorted_scores[clipped], 0)


def _mean(values: Floats) -> float:
    chosen = values[values > -1]
    return -1.0 if len(chosen) == 0 else float(np.mean(chosen))


def summarize_one(
    tables: Tables,
    params: Params,
    *,
    ap: bool,
    iou: float | None = None,
    area: str = "all",
    max_dets: int = 100,
) -> float:
    """One line of ``COCOeval.summarize``."""
    a = [i for i, label in enumerate(params.area_labels) if label == area]
    m = [i for i, d in enumerate(params.max_dets) if d == max_dets]
    if ap:
        s = tables.precision
        if iou is not None:
            s = s[np.where(iou == params.iou_thresholds)[0]]
        s = s[:, :, :, a, m]
    else:
        s = tables.recall
        if iou is not None:
            s = s[np.where(iou == params.iou_thresholds)[0]]
        s = s[:, :, a, m]
    return _mean(s)


# (name, ap, iou, area, max_dets) per stat, in pycocotools' order.
DETECTION_STATS = (
    ("AP", True, None, "all", 100),
    ("AP50", True, 0.5, "all", 100),
    ("AP75", True, 0.75, "all", 100),
    ("AP_small", True, None, "small", 100),
    ("AP_medium", True, None, "medium", 100),
    ("AP_large", True, None, "large", 100),
    ("AR1", False, None, "all", 1),
    ("AR10", False, None, "all", 10),
    ("AR100", False, None, "all", 100),
    ("AR_small", False, None, "small", 100),
    ("AR_medium", False, None, "medium", 100),
    ("AR_large", False, None, "large", 100),
)
KEYPOINT_STATS = (
    ("AP", True, None, "all", 20),
    ("AP50", True, 0.5, "all", 20),
    ("AP75", True, 0.75, "all", 20),
    ("AP_medium", True, None, "medium", 20),
    ("AP_large", True, None, "large", 20),
    ("AR", False, None, "all", 20),
    ("AR50", False, 0.5, "all", 20),
    ("AR75", False, 0.75, "all", 20),
    ("AR_medium", False, None, "medium", 20),
    ("AR_large", False, None, "large", 20),
)


def stat_lines(params: Params) -> tuple[tuple[str, bool, float | None, str, int], ...]:
    return KEYPOINT_STATS if params.iou_type == "keypoints" else DETECTION_STATS


def summarize(tables: Tables, params: Params) -> list[float]:
    """The stats of ``COCOeval.summarize`` (``COCOeval.stats``), in its order."""
    return [
        summarize_one(tables, params, ap=ap, iou=iou, area=area, max_dets=md)
        for _, ap, iou, area, md in stat_lines(params)
    ]


def summary_text(stats: list[float], params: Params) -> str:
    """The summary as pycocotools prints it."""
    lines = []
    for value, (_, ap, iou, area, md) in zip(stats, stat_lines(params), strict=True):
        title = "Average Precision" if ap else "Average Recall"
        kind = "(AP)" if ap else "(AR)"
        iou_str = (
            f"{params.iou_thresholds[0]:0.2f}:{params.iou_thresholds[-1]:0.2f}"
            if iou is None
            else f"{iou:0.2f}"
        )
        lines.append(
            f" {title:<18} {kind} @[ IoU={iou_str:<9} | area={area:>6s} | maxDets={md:>3d} ] = {value:0.3f}"
        )
    return "\n".join(lines)

"""Redundant computing against falsified results (BOINC-style), as pure decisions.

A deployment with replication K and quorum Q hands each request to K different worker accounts
and accepts a label once Q of their votes agree. When the votes that are in (and those still
out) can no longer reach Q, one more account is asked, up to ``EXTRA_REPLICAS`` beyond K; then
the request fails with ``no_consensus``. Detection answers are compared by geometry
(``same_detections``): two agree when their detections match one to one. Once a label is accepted, every vote on the request is
compared with it, and each account's agreement rate is kept; an account whose rate falls below
``settings.WORKER_MIN_AGREEMENT`` (after ``MIN_VOTES`` compared votes) is only given requests
whose quorum is at least 2, where one liar cannot decide an answer.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from visionhub.datasets.services.geometry import check_rle

EXTRA_REPLICAS = 2
MIN_VOTES: int = getattr(settings, "WORKER_MIN_VOTES", 10)


def max_replicas(replication: int) -> int:
    """How many accounts may be asked in all about one request."""
    return replication + EXTRA_REPLICAS if replication > 1 else 1


def winner(labels: Sequence[str], quorum: int) -> str | None:
    """The label with at least ``quorum`` votes, if any (the first to get there on a tie)."""
    counts: Counter[str] = Counter()
    for label in labels:
        counts[label] += 1
        if counts[label] >= quorum:
            return label
    return None


def more_replicas(
    labels: Sequence[str], *, quorum: int, outstanding: int, wanted: int, limit: int
) -> int | None:
    """How many more leases to hand out for a request that has no accepted label yet.

    ``outstanding`` counts leases out now plus those not yet handed out. Returns 0 when the
    votes still to come may be enough, a positive number to ask more accounts, and ``None``
    when even ``limit`` accounts in all cannot reach the quorum (the request fails).
    """
    best = max(Counter(labels).values(), default=0)
    missing = quorum - best - outstanding
    if missing <= 0:
        return 0
    room = limit - wanted
    if missing > room:
        return None
    return missing


def is_trusted(compared: int, agreed: int) -> bool:
    """Whether an account with these vote counts may decide quorum-1 requests alone."""
    if compared < MIN_VOTES:
        return True
    threshold: float = settings.WORKER_MIN_AGREEMENT
    return agreed >= threshold * compared


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``[x, y, w, h]`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else float(a == b)


def same_detections(
    a: Sequence[Mapping[str, Any]],
    b: Sequence[Mapping[str, Any]],
    *,
    min_iou: float,
    score_tolerance: float,
) -> bool:
    """Whether two answers agree: as many detections, each of ``a`` matched to its own one of
    ``b`` of the same class with an IoU of at least ``min_iou`` and a score within
    ``score_tolerance``. (Matching is greedy, best IoU first: with IoU thresholds above 0.5
    a box overlaps at most one box that well, so greedy finds the matching if there is one.)
    Masks follow their boxes and are not compared."""
    if len(a) != len(b):
        return False
    free = list(range(len(b)))
    for x in a:
        best, best_iou = -1, min_iou
        for j in free:
            y = b[j]
            if y["label"] != x["label"] or abs(y["score"] - x["score"]) > score_tolerance:
                continue
            iou = box_iou(x["box"], y["box"])
            if iou >= best_iou:
                best, best_iou = j, iou
        if best < 0:
            return False
        free.remove(best)
    return True


def check_detections(
    detections: Sequence[Mapping[str, Any]], classes: Sequence[str], task: str
) -> str | None:
    """``invalid_result`` unless every detection has a label among ``classes``, a score from 0
    to 1, a finite box ``[x, y, w, h]`` (w, h >= 0) and, for segmentation, a COCO RLE mask."""
    known = set(classes)
    for d in detections:
        box = d.get("box")
        score = d.get("score")
        if d.get("label") not in known or not isinstance(score, int | float):
            return "invalid_result"
        if not 0 <= score <= 1 or not isinstance(box, list | tuple) or len(box) != 4:
            return "invalid_result"
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in box):
            return "invalid_result"
        if box[2] < 0 or box[3] < 0:
            return "invalid_result"
        mask = d.get("mask")
        if task == "segmentation":
            size = mask.get("size") if isinstance(mask, dict) else None
            if not isinstance(size, list) or len(size) != 2:
                return "invalid_result"
            if check_rle(mask, size[1], size[0]) is not None:  # type: ignore[arg-type]
                return "invalid_result"
        elif mask is not None:
            return "invalid_result"
    return None

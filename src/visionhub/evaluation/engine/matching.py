"""COCO's greedy matching (``COCOeval.evaluateImg``) for many groups at once.

A group is one (image, category), or one image when categories are pooled (the confusion
matrix). Detections are taken by descending score (ties in annotation order), at most
``max_det`` per group; each takes, at every IoU threshold and area range, the free ground
truth of highest IoU at or above the threshold (ties: the later one, as pycocotools'
``<`` comparison leaves it), preferring one that is not ignored; a crowd ground truth may be
taken by any number of detections. Groups of similar size are padded into one ``[B, D, G]``
block and matched with one vectorised step per detection rank, so the Python loop runs a few
hundred times per block of thousands of groups, not once per detection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from visionhub.evaluation.engine.instances import Bools, Floats, Instances, Ints

# overlap(dt, gt, dt_index [B, D], gt_index [B, G]) -> [B, D, G]
Overlap = Callable[[Instances, Instances, Ints, Ints], Floats]


@dataclass
class Matches:
    """The outcome for the detections kept (``dt_order``: their rows in ``dt``, by group and
    rank) and every ground truth, for each area range ``a`` and threshold ``t``."""

    dt_order: Ints  # [n] rows of dt, grouped by (image, category), by descending score
    dt_rank: Ints  # [n] position within its group
    dt_match: Ints  # [A, T, n] row of the ground truth taken, or -1
    dt_ignore: Bools  # [A, T, n]
    gt_ignore: Bools  # [A, m]
    gt_match: Ints  # [A, T, m] row in dt of the detection that took it, or -1


def _sizes_to_bucket(n: Ints) -> Ints:
    """Padding class of a group size: the next power of two."""
    return np.left_shift(1, np.ceil(np.log2(np.maximum(n, 1))).astype(np.int64))


def _group_keys(dt: Instances, gt: Instances, pooled: bool) -> tuple[Ints, Ints]:
    """Dense group numbers for (image, category), or image when pooled, sorted like them."""
    n = len(dt)
    images = np.unique(np.concatenate([dt.image, gt.image]), return_inverse=True)[1]
    if pooled:
        return images[:n], images[n:]
    cats = np.unique(np.concatenate([dt.category, gt.category]), return_inverse=True)[1]
    keys = images.astype(np.int64) * (int(cats.max(initial=0)) + 1) + cats
    return keys[:n], keys[n:]


def match(
    gt: Instances,
    dt: Instances,
    *,
    thresholds: Floats,
    gt_ignore: Bools,
    dt_outside: Bools,
    max_det: int | None,
    overlap: Overlap,
    pooled: bool = False,
) -> Matches:
    """Match ``dt`` to ``gt`` as pycocotools does, for every area range and threshold.

    ``gt_ignore[a]`` marks the ground truths ignored in area range ``a`` (crowd, outside the
    range, no keypoints); ``dt_outside[a]`` the detections outside it, which are ignored when
    unmatched.
    """
    areas, n_t = gt_ignore.shape[0], len(thresholds)
    dt_key, gt_key = _group_keys(dt, gt, pooled)
    order = np.lexsort((np.arange(len(dt)), -dt.score, dt_key))
    sorted_key = dt_key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])[: len(dt)]
    group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(dt)]))
    rank = np.arange(len(dt)) - starts[group_of]
    keep = rank < max_det if max_det is not None else np.ones(len(dt), np.bool_)
    dt_order, dt_rank = order[keep], rank[keep]
    kept_key = sorted_key[keep]

    gt_order = np.lexsort((np.arange(len(gt)), gt_key))
    gt_sorted_key = gt_key[gt_order]

    dt_match = np.full((areas, n_t, len(dt_order)), -1, np.int64)
    dt_ign = np.zeros((areas, n_t, len(dt_order)), np.bool_)
    gt_match = np.full((areas, n_t, len(gt)), -1, np.int64)

    # Groups holding both detections and ground truths; the rest match nothing.
    keys, d_start, d_count = np.unique(kept_key, return_index=True, return_counts=True)
    g_keys, g_start, g_count = np.unique(gt_sorted_key, return_index=True, return_counts=True)
    both, in_d, in_g = np.intersect1d(keys, g_keys, assume_unique=True, return_indices=True)
    if len(both):
        d_start, d_count = d_start[in_d], d_count[in_d]
        g_start, g_count = g_start[in_g], g_count[in_g]
        bucket = _sizes_to_bucket(d_count) * (1 << 20) + _sizes_to_bucket(g_count)
        for code in np.unique(bucket):
            sel = np.flatnonzero(bucket == code)
            d_pad, g_pad = int(code >> 20), int(code & ((1 << 20) - 1))
            _match_block(
                gt,
                dt,
                thresholds,
                gt_ignore,
                dt_order,
                gt_order,
                d_start[sel],
                d_count[sel],
                g_start[sel],
                g_count[sel],
                d_pad,
                g_pad,
                overlap,
                dt_match,
                dt_ign,
                gt_match,
            )

    # Unmatched detections outside an area range are ignored there (evaluateImg's last step).
    dt_ign |= (dt_match < 0) & dt_outside[:, dt_order][:, None, :]
    return Matches(
        dt_order=dt_order,
        dt_rank=dt_rank,
        dt_match=dt_match,
        dt_ignore=dt_ign,
        gt_ignore=gt_ignore,
        gt_match=gt_match,
    )


def _padded(start: Ints, count: Ints, pad: int) -> Ints:
    """``[B, pad]`` positions ``start + j`` for ``j < count``, else -1."""
    j = np.arange(pad)[None, :]
    return np.where(j < count[:, None], start[:, None] + j, -1)


def _match_block(
    gt: Instances,
    dt: Instances,
    thresholds: Floats,
    gt_ignore: Bools,
    dt_order: Ints,
    gt_order: Ints,
    d_start: Ints,
    d_count: Ints,
    g_start: Ints,
    g_count: Ints,
    d_pad: int,
    g_pad: int,
    overlap: Overlap,
    dt_match: Ints,
    dt_ign: Bools,
    gt_match: Ints,
) -> None:
    kept_pos = _padded(d_start, d_count, d_pad)  # positions in dt_order
    dt_rows = np.where(kept_pos >= 0, dt_order[np.maximum(kept_pos, 0)], -1)
    gpos = _padded(g_start, g_count, g_pad)
    gt_rows = np.where(gpos >= 0, gt_order[np.maximum(gpos, 0)], -1)
    ious = overlap(dt, gt, dt_rows, gt_rows)  # [B, D, G]

    blocks = len(d_start)
    areas, n_t = gt_ignore.shape[0], len(thresholds)
    g_valid = gt_rows >= 0
    crowd = np.where(g_valid, gt.crowd[np.maximum(gt_rows, 0)], False)[:, None, None, :]
    ignored = gt_ignore[:, np.maximum(gt_rows, 0)].transpose(1, 0, 2) & g_valid[:, None, :]
    ignored = np.broadcast_to(ignored[:, :, None, :], (blocks, areas, n_t, g_pad))
    thr = np.minimum(thresholds, 1 - 1e-10)
    # Which (detection, ground truth) pairs pass each threshold: [B, D, T, G].
    passes = (ious[:, :, None, :] >= thr[None, None, :, None]) & g_valid[:, None, None, :]
    # A detection that passes no threshold with any ground truth matches nothing.
    hopeful = passes[:, :, 0, :].any(axis=-1) & (dt_rows >= 0)  # thresholds ascend
    taken = np.zeros((blocks, areas, n_t, g_pad), np.bool_)
    out_m = np.full((blocks, areas, n_t, d_pad), -1, np.int64)
    out_i = np.zeros((blocks, areas, n_t, d_pad), np.bool_)
    last = g_pad - 1
    for d in range(int(d_count.max())):
        act = np.flatnonzero(hopeful[:, d])
        if not len(act):
            continue
        ok = passes[act, d][:, None, :, :] & (~taken[act] | crowd[act])  # [b, A, T, G]
        ign = ignored[act]
        plain = ok & ~ign
        has_plain = plain.any(axis=-1)
        # pycocotools prefers a ground truth that is not ignored; among the pool, the
        # highest IoU, and of equal IoUs the last (argmax of the reversed row).
        pool = np.where(has_plain[..., None], plain, ok & ign)
        value = np.where(pool, ious[act, d][:, None, None, :], -1.0)
        j = last - np.argmax(value[..., ::-1], axis=-1)
        found = pool.any(axis=-1)
        j = np.where(found, j, -1)
        out_m[act, :, :, d] = j
        out_i[act, :, :, d] = found & ~has_plain
        b, a, t = np.nonzero(found)
        taken[act[b], a, t, j[b, a, t]] = True

    # Back to rows: detections by their position in dt_order, ground truths by row.
    bb, aa, tt, dd = np.nonzero(out_m >= 0)
    g_rows = gt_rows[bb, out_m[bb, aa, tt, dd]]
    dt_match[aa, tt, kept_pos[bb, dd]] = g_rows
    gt_match[aa, tt, g_rows] = dt_rows[bb, dd]
    bb, aa, tt, dd = np.nonzero(out_i)
    dt_ign[aa, tt, kept_pos[bb, dd]] = True

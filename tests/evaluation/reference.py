"""Seed 004's FP / FN fields computed the slow, obvious way (the specification in PRODUCT.md
section 8, step by step), to check the engine's bulk results against."""

from __future__ import annotations

from typing import Any

import numpy as np
import pycocotools.mask as mask_api

LEVELS = (90, 80, 70, 60, 50, 40, 30, 20, 10)


def seed_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Per result index: matched GT index or None; levels; codes per annotation; counts."""
    gts, dts = data["annotations"], data["results"]
    matched: dict[int, int | None] = {}
    gt_taken_by: dict[int, int] = {}
    groups: dict[tuple[int, int], list[int]] = {}
    for i, d in enumerate(dts):
        groups.setdefault((d["image_id"], d["category_id"]), []).append(i)
    for (img, cat), members in groups.items():
        cands = [
            j
            for j, g in enumerate(gts)
            if g["image_id"] == img and g["category_id"] == cat and not g["iscrowd"]
        ]
        order = sorted(members, key=lambda i: -dts[i]["score"])  # stable: file order on ties
        free = set(cands)
        for i in order:
            best, best_iou = None, 0.5
            for j in cands:
                if j not in free:
                    continue
                iou = float(mask_api.iou([dts[i]["bbox"]], [gts[j]["bbox"]], [0])[0][0])
                if iou >= best_iou:
                    best, best_iou = j, iou
            matched[i] = best
            if best is not None:
                free.discard(best)
                gt_taken_by[best] = i
        for i in members:
            matched.setdefault(i, None)
    order = sorted(range(len(dts)), key=lambda i: -dts[i]["score"])

    tp, precisions = 0, []
    for n, i in enumerate(order, start=1):
        tp += matched[i] is not None
        precisions.append(tp / n)
    for n in range(len(precisions) - 2, -1, -1):
        precisions[n] = max(precisions[n], precisions[n + 1])
    levels: dict[int, float | None] = {}
    for level in LEVELS:
        lo, hi = (level // 10) / 10, (level // 10 + 1) / 10
        threshold = None
        for n, i in enumerate(order):
            last_of_conf = n == len(order) - 1 or dts[order[n + 1]]["score"] != dts[i]["score"]
            if last_of_conf and precisions[n] >= lo and (level == 90 or precisions[n] < hi):
                threshold = dts[i]["score"]
        levels[level] = threshold
    dt_codes = [
        {
            str(lv): ("OK" if matched[i] is not None else "FP")
            for lv, t in levels.items()
            if t is not None and d["score"] >= t
        }
        for i, d in enumerate(dts)
    ]
    gt_codes: list[dict[str, str] | None] = []
    for j, g in enumerate(gts):
        if g["iscrowd"]:
            gt_codes.append(None)
            continue
        by = gt_taken_by.get(j)
        gt_codes.append(
            {
                str(lv): ("OK" if by is not None and dts[by]["score"] >= t else "FN")
                for lv, t in levels.items()
                if t is not None
            }
        )
    counts: dict[int, dict[str, dict[str, int]]] = {}
    for i, d in enumerate(dts):
        for lv, code in dt_codes[i].items():
            c = counts.setdefault(d["image_id"], {"fp": {}, "fn": {}})
            c["fp"][lv] = c["fp"].get(lv, 0) + (code == "FP")
    for j, g in enumerate(gts):
        for lv, code in (gt_codes[j] or {}).items():
            c = counts.setdefault(g["image_id"], {"fp": {}, "fn": {}})
            c["fn"][lv] = c["fn"].get(lv, 0) + (code == "FN")
    return {
        "matched": matched,
        "levels": levels,
        "dt_codes": dt_codes,
        "gt_codes": gt_codes,
        "counts": counts,
        "tp_order": np.array(order),
    }

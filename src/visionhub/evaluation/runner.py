"""Running one evaluation: stream the images, match, accumulate, write the results back.

Pass 1 walks the dataset's images in chunks (``loader``): COCO matching and accumulation,
the confusion matrix, and seed 004's IoU-0.5 matching, whose per-annotation outcome is
spilled to a temporary file per chunk. The precision levels need every prediction's
confidence, so pass 2 re-reads the spills to write ``compare_result``, ``matched_gt``, the
per-image counts (``ImageErrors``, ``CategoryErrors``, ``Image.compare_counts``) in bulk.
Re-running an evaluation from the start gives the same rows (the task may run again after
a worker dies), so everything it writes is replaced, never added to.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from django.conf import settings
from django.db import transaction

from visionhub.datasets.models import Category
from visionhub.evaluation import loader, writeback
from visionhub.evaluation.engine import errors as seed
from visionhub.evaluation.engine.accumulate import (
    Accumulator,
    Tables,
    stat_lines,
    summarize,
    summary_text,
)
from visionhub.evaluation.engine.classification import ClassificationTally
from visionhub.evaluation.engine.coco import in_categories, match_chunk, overlap_for
from visionhub.evaluation.engine.confusion import confusion_counts
from visionhub.evaluation.engine.params import Params, params_for
from visionhub.evaluation.models import CategoryErrors, Evaluation, ImageErrors

Progress = Callable[[float], None]


def run(evaluation: Evaluation, progress: Progress) -> dict[str, Any]:
    """Compute ``evaluation`` and write its results; return its metrics."""
    categories = list(
        Category.objects.filter(dataset_id=evaluation.dataset_id)
        .order_by("id")
        .values_list("id", "name")
    )
    if evaluation.iou_type == "classification":
        return _classification(evaluation, categories, progress)
    return _detection(evaluation, categories, progress)


def _detection(
    evaluation: Evaluation, categories: list[tuple[int, str]], progress: Progress
) -> dict[str, Any]:
    options = evaluation.params or {}
    params = params_for(evaluation.iou_type, options.get("kpt_oks_sigmas"))
    cat_ids = np.array([c[0] for c in categories], np.int64)
    acc = Accumulator(params, cat_ids)
    overlap = overlap_for(params)
    confusion = np.zeros((len(cat_ids) + 1, len(cat_ids) + 1), np.int64)
    iou_c = float(options.get("confusion_iou", 0.5))
    conf_c = float(options.get("confusion_confidence", 0.25))
    total = max(evaluation.dataset.num_images, 1)
    done = 0
    confs, hits, num_gt, num_pred = [], [], 0, 0
    with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        spills: list[Path] = []
        for chunk in loader.image_chunks(evaluation.dataset_id):
            gt = in_categories(
                loader.load(evaluation.gt_id, chunk, params, ground_truth=True), cat_ids
            )
            dt = in_categories(
                loader.load(evaluation.pred_id, chunk, params, ground_truth=False), cat_ids
            )
            acc.add(gt, dt, match_chunk(gt, dt, params))
            confusion += confusion_counts(
                gt, dt, cat_ids, iou=iou_c, confidence=conf_c, overlap=overlap
            )
            found = seed.match_for_errors(gt, dt, overlap)
            matched = found.dt_gt >= 0
            confs.append(dt.score)
            hits.append(matched)
            num_gt += int((~gt.crowd).sum())
            num_pred += len(dt)
            spill = Path(tmp) / f"{len(spills)}.npz"
            np.savez(
                spill,
                dt_ids=dt.ids,
                dt_image=dt.image,
                dt_cat=dt.category,
                dt_conf=dt.score,
                dt_gt=np.where(matched, gt.ids[np.maximum(found.dt_gt, 0)], -1),
                gt_ids=gt.ids,
                gt_image=gt.image,
                gt_cat=gt.category,
                gt_crowd=gt.crowd,
                gt_conf=found.gt_conf,
                images=chunk.ids,
            )
            spills.append(spill)
            done += len(chunk.ids)
            progress(0.8 * done / total)
        all_conf = np.concatenate(confs) if confs else np.zeros(0)
        levels = seed.precision_levels(
            all_conf, np.concatenate(hits) if hits else np.zeros(0, bool), num_gt
        )
        _write_errors(evaluation, levels, spills, lambda f: progress(0.8 + 0.2 * f))
    tables = acc.tables()
    stats = summarize(tables, params)
    names = [c[1] for c in categories]
    return {
        "iou_type": evaluation.iou_type,
        "num_images": evaluation.dataset.num_images,
        "num_gt": num_gt,
        "num_pred": num_pred,
        "stats": {line[0]: value for line, value in zip(stat_lines(params), stats, strict=True)},
        "stats_list": stats,
        "summary": summary_text(stats, params),
        "per_category": _per_category(tables, params, categories),
        "curves": _curves(tables, params, categories),
        "confusion_matrix": {
            "labels": [*names, "background"],
            "rows": "ground truth",
            "columns": "prediction",
            "iou": iou_c,
            "confidence": conf_c,
            "counts": confusion.tolist(),
        },
        "compare_precisions": [level.as_dict() for level in levels],
    }


def _per_category(
    tables: Tables, params: Params, categories: list[tuple[int, str]]
) -> list[dict[str, Any]]:
    out = []
    m = len(params.max_dets) - 1
    t50 = int(np.flatnonzero(params.iou_thresholds == 0.5)[0])
    t75 = int(np.flatnonzero(params.iou_thresholds == 0.75)[0])

    def mean(values: np.ndarray) -> float | None:
        chosen = values[values > -1]
        return float(np.mean(chosen)) if len(chosen) else None

    for k, (cid, name) in enumerate(categories):
        out.append(
            {
                "category_id": cid,
                "name": name,
                "ap": mean(tables.precision[:, :, k, 0, m]),
                "ap50": mean(tables.precision[t50, :, k, 0, m]),
                "ap75": mean(tables.precision[t75, :, k, 0, m]),
                "ar": mean(tables.recall[:, k, 0, m]),
            }
        )
    return out


def _curves(tables: Tables, params: Params, categories: list[tuple[int, str]]) -> dict[str, Any]:
    m = len(params.max_dets) - 1
    curves = []
    for k, (cid, name) in enumerate(categories):
        entry: dict[str, Any] = {"category_id": cid, "name": name}
        for iou in (0.5, 0.75):
            t = int(np.flatnonzero(params.iou_thresholds == iou)[0])
            row = tables.precision[t, :, k, 0, m]
            entry[f"precision_at_{int(iou * 100)}"] = None if (row < 0).all() else row.tolist()
        curves.append(entry)
    return {"recall": params.recall_thresholds.tolist(), "per_category": curves}


def _write_errors(
    evaluation: Evaluation, levels: list[seed.Level], spills: list[Path], progress: Progress
) -> None:
    """Pass 2: seed 004's fields, written chunk by chunk."""
    key = str(evaluation.pred_id)
    reached = [(row, level) for row, level in enumerate(levels) if level.threshold is not None]
    ImageErrors.objects.filter(evaluation=evaluation).delete()
    CategoryErrors.objects.filter(evaluation=evaluation).delete()
    writeback.clear_compare_counts(evaluation.dataset_id, key)
    for n, spill in enumerate(spills):
        with np.load(spill) as stored:
            data = {name: stored[name] for name in stored.files}
        dt_codes, gt_codes = seed.results_at_levels(
            levels, data["dt_conf"], data["dt_gt"] >= 0, data["gt_conf"]
        )
        matched = data["dt_gt"].tolist()
        dt_json = _results_json(dt_codes, reached)
        gt_json = _results_json(gt_codes, reached)
        rows: list[tuple[int, str | None, int | None]] = [
            (ann_id, text, m if m >= 0 else None)
            for ann_id, text, m in zip(data["dt_ids"].tolist(), dt_json, matched, strict=True)
        ]
        crowd = data["gt_crowd"].tolist()
        rows += [
            (ann_id, None if is_crowd else text, None)
            for ann_id, text, is_crowd in zip(data["gt_ids"].tolist(), gt_json, crowd, strict=True)
        ]
        writeback.write_annotation_results(rows)
        _write_counts(evaluation, key, reached, data, dt_codes, gt_codes)
        progress((n + 1) / len(spills))


def _results_json(codes: np.ndarray, reached: list[tuple[int, seed.Level]]) -> list[str]:
    """``compare_result`` texts: one per column of ``codes``, built once per distinct column."""
    if not codes.shape[1]:
        return []
    distinct, inverse = np.unique(codes.T, axis=0, return_inverse=True)
    texts = [
        orjson.dumps(
            {str(level.level): seed.CODE_NAMES[int(column[r])] for r, level in reached if column[r]}
        ).decode()
        for column in distinct
    ]
    return [texts[i] for i in inverse.reshape(-1).tolist()]


def _write_counts(
    evaluation: Evaluation,
    key: str,
    reached: list[tuple[int, seed.Level]],
    data: Any,
    dt_codes: np.ndarray,
    gt_codes: np.ndarray,
) -> None:
    images = np.unique(np.concatenate([data["dt_image"], data["gt_image"][~data["gt_crowd"]]]))
    if not len(images) or not reached:
        return
    cats = np.unique(np.concatenate([data["dt_cat"], data["gt_cat"]]))
    n_i, n_c = len(images), len(cats)
    rows = [r for r, _ in reached]
    fp = np.zeros((len(rows), n_i, n_c), np.int64)
    fn = np.zeros((len(rows), n_i, n_c), np.int64)
    di, dc = np.searchsorted(images, data["dt_image"]), np.searchsorted(cats, data["dt_cat"])
    plain = ~data["gt_crowd"]
    gi = np.searchsorted(images, data["gt_image"][plain])
    gc = np.searchsorted(cats, data["gt_cat"][plain])
    for j, r in enumerate(rows):
        np.add.at(fp[j], (di, dc), dt_codes[r] == 2)
        np.add.at(fn[j], (gi, gc), gt_codes[r][plain] == 3)
    fp_img, fn_img = fp.sum(axis=2), fn.sum(axis=2)
    level_ids = [lv.level for _, lv in reached]
    image_list, cat_list = images.tolist(), cats.tolist()
    eid = evaluation.pk
    image_rows = [
        (eid, image_list[i], level_ids[j], int(fp_img[j, i]), int(fn_img[j, i]))
        for j in range(len(rows))
        for i in range(n_i)
    ]
    present = np.nonzero((fp + fn).sum(axis=0))  # (image, category) pairs with any error
    category_rows = [
        (eid, image_list[i], cat_list[c], level_ids[j], int(fp[j, i, c]), int(fn[j, i, c]))
        for i, c in zip(*present, strict=True)
        for j in range(len(rows))
    ]
    with transaction.atomic():
        writeback.insert_rows(
            ImageErrors, ("evaluation_id", "image_id", "level", "num_fp", "num_fn"), image_rows
        )
        writeback.insert_rows(
            CategoryErrors,
            ("evaluation_id", "image_id", "category_id", "level", "num_fp", "num_fn"),
            category_rows,
        )
    counts = []
    for i, image_id in enumerate(image_list):
        per_cat_fp: dict[str, dict[str, int]] = {}
        per_cat_fn: dict[str, dict[str, int]] = {}
        for c in np.flatnonzero((fp[:, i] + fn[:, i]).sum(axis=0)).tolist():
            per_cat_fp[str(cat_list[c])] = {
                str(lv): int(fp[j, i, c]) for j, lv in enumerate(level_ids)
            }
            per_cat_fn[str(cat_list[c])] = {
                str(lv): int(fn[j, i, c]) for j, lv in enumerate(level_ids)
            }
        value = {
            "evaluation": evaluation.pk,
            "num_fp": {str(lv): int(fp_img[j, i]) for j, lv in enumerate(level_ids)},
            "num_fn": {str(lv): int(fn_img[j, i]) for j, lv in enumerate(level_ids)},
            "num_fp_cat": per_cat_fp,
            "num_fn_cat": per_cat_fn,
        }
        counts.append((image_id, orjson.dumps(value).decode()))
    writeback.write_compare_counts(key, counts)


def _classification(
    evaluation: Evaluation, categories: list[tuple[int, str]], progress: Progress
) -> dict[str, Any]:
    from visionhub.evaluation import classification_loader

    cat_ids = np.array([c[0] for c in categories], np.int64)
    options = evaluation.params or {}
    tally = ClassificationTally(len(cat_ids), tuple(options.get("top_k", (1, 3, 5))))
    total = max(evaluation.dataset.num_images, 1)
    done = 0
    for chunk in loader.image_chunks(evaluation.dataset_id):
        truth, ranked = classification_loader.load(
            evaluation.gt_id, evaluation.pred_id, chunk, cat_ids
        )
        tally.add(truth, ranked)
        done += len(chunk.ids)
        progress(done / total)
    metrics = tally.metrics([c[1] for c in categories])
    metrics["iou_type"] = "classification"
    return metrics

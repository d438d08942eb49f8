"""The engine gives pycocotools' numbers exactly: stats, precision / recall / score tables and
every per-image match (``evalImgs``), for boxes, masks and keypoints."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.evaluation.oracle import coco_eval, instances
from tests.evaluation.synthetic import generate

from visionhub.evaluation.engine.accumulate import Accumulator, summarize
from visionhub.evaluation.engine.coco import evaluate_in_memory, match_chunk
from visionhub.evaluation.engine.params import params_for

CASES = [("bbox", 0), ("bbox", 1), ("segm", 2), ("keypoints", 3)]


def run_both(kind: str, seed: int, **size: int) -> tuple[object, object, object, object]:
    data = generate(seed, kind=kind, **size)
    oracle = coco_eval(data, kind)
    params = params_for(kind)
    gt = instances(data, kind, ground_truth=True)
    dt = instances(data, kind, ground_truth=False)
    categories = np.array([c["id"] for c in data["categories"]])
    acc, matches = evaluate_in_memory(gt, dt, params, categories)
    return oracle, acc, matches, (gt, dt, params)


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_stats_and_tables_equal_pycocotools(kind: str, seed: int) -> None:
    oracle, acc, _, (_, _, params) = run_both(kind, seed)
    tables = acc.tables()  # type: ignore[attr-defined]
    stats = summarize(tables, params)  # type: ignore[arg-type]
    assert len(stats) == (10 if kind == "keypoints" else 12)
    assert np.abs(np.array(stats) - oracle.stats).max() <= 1e-12  # type: ignore[attr-defined]
    assert (np.array(stats) > 0).sum() >= 6  # a set with real matches, not all -1s
    for name in ("precision", "recall", "scores"):
        ours = getattr(tables, name)
        theirs = oracle.eval[name]  # type: ignore[attr-defined]
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() <= 1e-12, name


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_every_per_image_match_equals_eval_imgs(kind: str, seed: int) -> None:
    oracle, _, matches, (gt, dt, _) = run_both(kind, seed)
    m: Any = matches
    p = oracle.params  # type: ignore[attr-defined]
    n_img = len(p.imgIds)
    checked = 0
    for k, cat in enumerate(p.catIds):
        for a in range(len(p.areaRng)):
            for i, img in enumerate(p.imgIds):
                e = oracle.evalImgs[k * len(p.areaRng) * n_img + a * n_img + i]  # type: ignore[attr-defined]
                mine = np.flatnonzero(
                    (dt.image[m.dt_order] == img) & (dt.category[m.dt_order] == cat)
                )
                if e is None:
                    assert not len(mine)
                    continue
                # Detections: the same ones, in the same order, matched to the same GT ids.
                assert dt.ids[m.dt_order[mine]].tolist() == list(e["dtIds"])
                taken = m.dt_match[a][:, mine]
                ours = np.where(taken >= 0, gt.ids[np.maximum(taken, 0)], 0)
                assert (ours == e["dtMatches"]).all()
                assert (m.dt_ignore[a][:, mine] == e["dtIgnore"].astype(bool)).all()
                # Ground truths: ignore flags and the detections that took them.
                rows = [int(np.flatnonzero(gt.ids == g)[0]) for g in e["gtIds"]]
                assert (m.gt_ignore[a][rows] == np.array(e["gtIgnore"], bool)).all()
                by = m.gt_match[a][:, rows]
                ours_g = np.where(by >= 0, dt.ids[np.maximum(by, 0)], 0)
                assert (ours_g == e["gtMatches"]).all()
                checked += 1
    assert checked > 100


def test_the_generated_sets_hold_what_the_rules_must_handle() -> None:
    data = generate(0)
    per_image: dict[int, int] = {}
    for d in data["results"]:
        per_image[d["image_id"]] = per_image.get(d["image_id"], 0) + 1
    areas = [g["area"] for g in data["annotations"]]
    assert max(per_image.values()) > 100
    assert any(g["iscrowd"] for g in data["annotations"])
    assert min(areas) < 32**2 and max(areas) > 96**2
    assert any(32**2 < a < 96**2 for a in areas)
    gt_cats = {g["category_id"] for g in data["annotations"]}
    dt_cats = {d["category_id"] for d in data["results"]}
    all_cats = {c["id"] for c in data["categories"]}
    assert all_cats - gt_cats and gt_cats - dt_cats  # a category with no GT, one with no dets
    images = {img["id"] for img in data["images"]}
    assert images - {g["image_id"] for g in data["annotations"]} - set(per_image)  # empty ones
    masks = generate(2, kind="segm")["annotations"]
    assert any(isinstance(g["segmentation"], list) for g in masks)
    assert any(
        isinstance(g["segmentation"], dict) and isinstance(g["segmentation"]["counts"], str)
        for g in masks
    )
    assert any(
        isinstance(g["segmentation"], dict) and isinstance(g["segmentation"]["counts"], list)
        for g in masks
    )


def test_chunk_by_chunk_accumulation_equals_pycocotools() -> None:
    """What the task does: images in chunks, each matched and added in image order."""
    data = generate(7, images=45)
    oracle = coco_eval(data, "bbox")
    params = params_for("bbox")
    gt = instances(data, "bbox", ground_truth=True)
    dt = instances(data, "bbox", ground_truth=False)
    acc = Accumulator(params, np.array(sorted(c["id"] for c in data["categories"])))
    for first in (1, 11, 30):
        last = {1: 11, 11: 30, 30: 46}[first]
        g = gt.take((gt.image >= first) & (gt.image < last))
        d = dt.take((dt.image >= first) & (dt.image < last))
        acc.add(g, d, match_chunk(g, d, params))
    stats = summarize(acc.tables(), params)
    assert np.abs(np.array(stats) - oracle.stats).max() <= 1e-12

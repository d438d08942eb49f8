"""COCO evaluation: pycocotools, faster-coco-eval and VisionHub on one generated set.

Generates a COCO-style set (default 5,000 images of 640x480, 80 categories, about 36,000
ground-truth boxes, 1 % crowd, and about 300,000 detections: five near each ground truth and
two dozen false alarms per image; masks too with ``--iou-type segm``), puts it in a fresh
VisionHub database (``--database-url``; default SQLite in a temporary home) and times, in the
same run:

- **pycocotools** and **faster-coco-eval** (``pip install faster-coco-eval`` in the benchmark's
  environment only): ``loadRes`` + ``evaluate`` + ``accumulate`` + ``summarize`` on the set in
  memory;
- **VisionHub engine**: matching and accumulation on the same arrays in memory, in chunks of
  2,000 images as the task does;
- **VisionHub end to end**: the evaluation task (``services.execute``): read every chunk from
  the database, match, metrics, and seed 004's results written back to every annotation and
  image; its peak memory (``ru_maxrss``) is that of a child process running only this step.

It prints the stats of all three side by side and the largest difference from pycocotools.
``--scale 10`` runs the end-to-end step alone on a set ten times larger, to show its memory
stays bounded. Usage::

    .venv/bin/python benchmarks/bench_eval.py [--images 5000] [--iou-type bbox|segm]
        [--database-url postgres://…/visionhub_bench_eval] [--skip-pycocotools] [--scale N]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

CATEGORIES = 80
WIDTH, HEIGHT = 640, 480


def generate(images: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Columns of ground truths and detections (vectorised: seconds for 300,000 rows)."""
    rng = np.random.default_rng(seed)
    n_gt = rng.poisson(7.2, images)
    g_img = np.repeat(np.arange(images), n_gt)
    n = len(g_img)
    side = np.exp(rng.uniform(np.log(6), np.log(300), (n, 2)))
    w, h = np.minimum(side[:, 0], WIDTH - 2), np.minimum(side[:, 1], HEIGHT - 2)
    x, y = rng.uniform(0, WIDTH - w - 1), rng.uniform(0, HEIGHT - h - 1)
    g_cat = np.minimum(rng.zipf(1.3, n), CATEGORIES) - 1
    g_crowd = rng.random(n) < 0.01
    g_box = np.round(np.stack([x, y, w, h], 1), 2)
    g_area = np.round(g_box[:, 2] * g_box[:, 3] * rng.uniform(0.6, 1.0, n), 2)
    near = rng.poisson(5, n)
    d_src = np.repeat(np.arange(n), near)
    m = len(d_src)
    jitter = rng.normal(0, 0.1, (m, 2)) * g_box[d_src, 2:]
    scale = rng.uniform(0.8, 1.25, (m, 2))
    dw = np.minimum(g_box[d_src, 2] * scale[:, 0], WIDTH - 2)
    dh = np.minimum(g_box[d_src, 3] * scale[:, 1], HEIGHT - 2)
    dx = np.clip(g_box[d_src, 0] + jitter[:, 0], 0, WIDTH - dw - 1)
    dy = np.clip(g_box[d_src, 1] + jitter[:, 1], 0, HEIGHT - dh - 1)
    d_cat = np.where(rng.random(m) < 0.9, g_cat[d_src], rng.integers(0, CATEGORIES, m))
    false = rng.poisson(24, images)
    f_img = np.repeat(np.arange(images), false)
    k = len(f_img)
    fw, fh = rng.uniform(5, 200, k), rng.uniform(5, 200, k)
    f_box = np.stack([rng.uniform(0, WIDTH - fw - 1), rng.uniform(0, HEIGHT - fh - 1), fw, fh], 1)
    d_img = np.concatenate([g_img[d_src], f_img])
    d_box = np.round(np.concatenate([np.stack([dx, dy, dw, dh], 1), f_box]), 2)
    d_cat = np.concatenate([d_cat, rng.integers(0, CATEGORIES, k)])
    d_score = np.round(rng.random(len(d_img)), 3)
    order = np.argsort(d_img, kind="stable")  # results grouped by image, as files usually are
    return {
        "g_img": g_img, "g_cat": g_cat, "g_box": g_box, "g_area": g_area, "g_crowd": g_crowd,
        "d_img": d_img[order], "d_cat": d_cat[order], "d_box": d_box[order],
        "d_score": d_score[order],
    }  # fmt: skip


def polygon(box: np.ndarray) -> list[float]:
    """A diamond inside the box: a mask that is not the box."""
    x, y, w, h = (float(v) for v in box)
    return [x + w / 2, y, x + w, y + h / 2, x + w / 2, y + h, x, y + h / 2]


def coco_dicts(cols: dict[str, np.ndarray], images: int, iou_type: str) -> dict[str, Any]:
    import pycocotools.mask as mask_api

    anns = []
    for i in range(len(cols["g_img"])):
        ann = {
            "id": i + 1, "image_id": int(cols["g_img"][i]) + 1, "category_id": int(cols["g_cat"][i]) + 1,
            "bbox": cols["g_box"][i].tolist(), "area": float(cols["g_area"][i]),
            "iscrowd": int(cols["g_crowd"][i]),
        }  # fmt: skip
        if iou_type == "segm":
            ann["segmentation"] = [polygon(cols["g_box"][i])]
        anns.append(ann)
    results = []
    for i in range(len(cols["d_img"])):
        res: dict[str, Any] = {
            "image_id": int(cols["d_img"][i]) + 1, "category_id": int(cols["d_cat"][i]) + 1,
            "score": float(cols["d_score"][i]),
        }  # fmt: skip
        if iou_type == "bbox":
            res["bbox"] = cols["d_box"][i].tolist()
        else:
            rle = mask_api.merge(mask_api.frPyObjects([polygon(cols["d_box"][i])], HEIGHT, WIDTH))
            res["segmentation"] = {"size": [HEIGHT, WIDTH], "counts": rle["counts"].decode()}
        results.append(res)
    return {
        "images": [{"id": i + 1, "width": WIDTH, "height": HEIGHT} for i in range(images)],
        "categories": [{"id": c + 1, "name": f"c{c + 1}"} for c in range(CATEGORIES)],
        "annotations": anns,
        "results": results,
    }


def run_cocoeval(module: str, data: dict[str, Any], iou_type: str) -> tuple[float, list[float]]:
    if module == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval as Evaluator
    else:
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as Evaluator
    gt_data = copy.deepcopy({k: data[k] for k in ("images", "categories", "annotations")})
    results = copy.deepcopy(data["results"])
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = gt_data
        gt.createIndex()
        start = time.perf_counter()
        dt = gt.loadRes(results)
        evaluator = Evaluator(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        elapsed = time.perf_counter() - start
    return elapsed, [float(v) for v in evaluator.stats]


def run_engine(data: dict[str, Any], iou_type: str) -> tuple[float, list[float]]:
    """The engine on in-memory arrays, in chunks of 2,000 images (what the task does)."""
    from visionhub.evaluation.engine import overlap
    from visionhub.evaluation.engine.accumulate import Accumulator, summarize
    from visionhub.evaluation.engine.coco import match_chunk
    from visionhub.evaluation.engine.instances import Instances
    from visionhub.evaluation.engine.params import params_for

    def columns(rows: list[dict[str, Any]], gt: bool) -> Instances:
        n = len(rows)
        inst = Instances(
            ids=np.arange(1, n + 1), image=np.array([r["image_id"] for r in rows]),
            category=np.array([r["category_id"] for r in rows]),
            score=np.array([r.get("score", 1.0) for r in rows]), area=np.zeros(n),
            crowd=np.array([bool(r.get("iscrowd", 0)) for r in rows]),
            bbox=np.array([r.get("bbox", [0, 0, 0, 0]) for r in rows], float).reshape(n, 4),
        )  # fmt: skip
        if iou_type == "segm":
            inst.masks = [overlap.rle_of(r["segmentation"], HEIGHT, WIDTH) for r in rows]
        if gt:
            inst.area = np.array([r["area"] for r in rows], float)
        elif iou_type == "bbox":
            inst.area = inst.bbox[:, 2] * inst.bbox[:, 3]
        else:
            inst.area = np.array([overlap.mask_area(mk) for mk in inst.masks or []], float)
        return inst

    gt_all, dt_all = columns(data["annotations"], True), columns(data["results"], False)
    params = params_for(iou_type)
    start = time.perf_counter()
    acc = Accumulator(params, np.arange(1, CATEGORIES + 1))
    images = len(data["images"])
    for first in range(1, images + 1, 2000):
        gsel = (gt_all.image >= first) & (gt_all.image < first + 2000)
        dsel = (dt_all.image >= first) & (dt_all.image < first + 2000)
        gt, dt = gt_all.take(gsel), dt_all.take(dsel)
        acc.add(gt, dt, match_chunk(gt, dt, params))
    stats = summarize(acc.tables(), params)
    return time.perf_counter() - start, stats


def fill_database(cols: dict[str, np.ndarray], images: int, iou_type: str) -> int:
    """The set as VisionHub rows (images without blobs: evaluation never reads pixels)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from visionhub.datasets.models import Category, Dataset, Image, LabelSet
    from visionhub.datasets.services import annotations

    user = get_user_model().objects.create_user("bench")
    with transaction.atomic():
        dataset = Dataset.objects.create(owner=user, name="bench-eval", num_images=images)
        Image.objects.bulk_create(
            [
                Image(dataset=dataset, idx=i, sha256=f"{i:064x}", size=1, width=WIDTH,
                      height=HEIGHT, format="PNG", filename=f"{i}.png")
                for i in range(images)
            ],
            batch_size=5000,
        )  # fmt: skip
        Category.objects.bulk_create(
            [Category(dataset=dataset, name=f"c{c + 1}") for c in range(CATEGORIES)]
        )
        LabelSet.objects.create(dataset=dataset, name="gt", kind="GT")
        LabelSet.objects.create(dataset=dataset, name="pred", kind="Pred")
    image_ids = list(
        Image.objects.filter(dataset=dataset).order_by("idx").values_list("id", flat=True)
    )
    cat_ids = list(
        Category.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True)
    )
    sets = dict(LabelSet.objects.filter(dataset=dataset).values_list("name", "id"))

    def rows(gt: bool) -> list[dict[str, Any]]:
        prefix = "g_" if gt else "d_"
        out = []
        for i in range(len(cols[prefix + "img"])):
            box = cols[prefix + "box"][i]
            row: dict[str, Any] = {
                "image_id": image_ids[int(cols[prefix + "img"][i])],
                "label_set_id": sets["gt" if gt else "pred"],
                "category_id": cat_ids[int(cols[prefix + "cat"][i])],
            }
            if gt:
                row.update(
                    bbox=box.tolist(),
                    area=float(cols["g_area"][i]),
                    is_group=bool(cols["g_crowd"][i]),
                )
                if iou_type == "segm":
                    row["segmentation"] = [polygon(box)]
            else:
                row["conf"] = float(cols["d_score"][i])
                if iou_type == "bbox":
                    row["bbox"] = box.tolist()
                else:
                    row["segmentation"] = [polygon(box)]
            out.append(row)
        return out

    for gt in (True, False):
        all_rows = rows(gt)
        for start in range(0, len(all_rows), 50_000):
            body = json.dumps({"annotations": all_rows[start : start + 50_000]}).encode()
            annotations.create_annotations_json(dataset, body)
    return int(dataset.pk)


def end_to_end(dataset_id: int, iou_type: str) -> dict[str, Any]:
    """The evaluation task, timed (run in a child process so that its peak memory is its own)."""
    from django.contrib.auth import get_user_model

    from visionhub.datasets.models import Dataset
    from visionhub.evaluation import services
    from visionhub.evaluation.models import Evaluation

    dataset = Dataset.objects.get(pk=dataset_id)
    user = get_user_model().objects.get(username="bench")
    evaluation = services.create_evaluation(
        dataset, gt="gt", pred="pred", iou_type=iou_type, params={}, by=user
    )
    start = time.perf_counter()
    services.execute(evaluation.pk)
    elapsed = time.perf_counter() - start
    done = Evaluation.objects.get(pk=evaluation.pk)
    assert done.status == "done", done.error
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": elapsed, "stats": done.metrics["stats_list"], "peak_mb": peak_mb}  # type: ignore[index]


def setup_django(home: str, database_url: str | None) -> None:
    os.environ["VISIONHUB_HOME"] = home
    os.environ["DJANGO_SETTINGS_MODULE"] = "visionhub.settings"
    if database_url:
        os.environ["VISIONHUB_DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def child(args: argparse.Namespace) -> None:
    setup_django(args.home, args.database_url)
    print(json.dumps(end_to_end(args.dataset_id, args.iou_type)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--iou-type", choices=["bbox", "segm"], default="bbox")
    parser.add_argument("--database-url", default=None, help="a fresh database (default: SQLite)")
    parser.add_argument("--skip-pycocotools", action="store_true")
    parser.add_argument(
        "--scale", type=int, default=1, help="only the end-to-end step, N times larger"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--home", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--dataset-id", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    images = args.images * args.scale
    home = tempfile.mkdtemp(prefix="bench-eval-")
    cols = generate(images)
    print(
        f"{images} images, {len(cols['g_img'])} ground truths, {len(cols['d_img'])} detections ({args.iou_type})"
    )
    figures: dict[str, tuple[float, list[float]]] = {}
    if args.scale == 1:
        data = coco_dicts(cols, images, args.iou_type)
        if not args.skip_pycocotools:
            figures["pycocotools"] = run_cocoeval("pycocotools", data, args.iou_type)
        with contextlib.suppress(ImportError):
            figures["faster-coco-eval"] = run_cocoeval("faster_coco_eval", data, args.iou_type)
        figures["VisionHub engine"] = run_engine(data, args.iou_type)
        del data
    setup_django(home, args.database_url)
    t = time.perf_counter()
    dataset_id = fill_database(cols, images, args.iou_type)
    print(f"imported into VisionHub in {time.perf_counter() - t:.1f} s")
    env = {**os.environ}
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--home", home, "--dataset-id", str(dataset_id),
         "--iou-type", args.iou_type, *(["--database-url", args.database_url] if args.database_url else [])],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    e2e = json.loads(out.stdout.strip().splitlines()[-1])
    figures["VisionHub end to end"] = (e2e["seconds"], e2e["stats"])
    names = list(figures)
    print()
    print(f"{'':24}" + "".join(f"{n:>22}" for n in names))
    print(f"{'seconds':24}" + "".join(f"{figures[n][0]:>22.2f}" for n in names))
    labels = ["AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
              "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large"]  # fmt: skip
    for i, label in enumerate(labels):
        print(f"{label:24}" + "".join(f"{figures[n][1][i]:>22.12f}" for n in names))
    print(f"end-to-end peak memory: {e2e['peak_mb']:.0f} MB")
    if "pycocotools" in figures:
        ref = np.array(figures["pycocotools"][1])
        for n in names[1:]:
            print(
                f"largest difference from pycocotools, {n}: {np.abs(np.array(figures[n][1]) - ref).max():.1e}"
            )


if __name__ == "__main__":
    main()

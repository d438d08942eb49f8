"""Small COCO datasets made on the spot: real PNG files and every kind of COCO annotation."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from tests.factories import make_noise_image

KEYPOINT_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]
CATEGORIES = [
    {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": KEYPOINT_NAMES,
        "skeleton": [[1, 2], [1, 3], [2, 4], [3, 5]],
    },
    {"id": 3, "name": "car", "supercategory": "vehicle"},
    {"id": 18, "name": "dog", "supercategory": "animal"},
]


def _polygon(rng: random.Random, w: int, h: int) -> tuple[list[float], list[float]]:
    x, y = rng.uniform(0, w / 2), rng.uniform(0, h / 2)
    bw, bh = rng.uniform(4, w / 2 - 1), rng.uniform(4, h / 2 - 1)
    poly = [x, y, x + bw, y, x + bw, y + bh, x + bw / 2, y + bh * 1.0, x, y + bh / 2]
    return [round(v, 2) for v in poly], [round(v, 2) for v in (x, y, bw, bh)]


def _crowd_rle(rng: random.Random, w: int, h: int) -> tuple[dict[str, Any], list[float], float]:
    grid = np.zeros((h, w), dtype=np.uint8, order="F")
    x0, y0 = rng.randrange(0, w // 2), rng.randrange(0, h // 2)
    grid[y0 : y0 + h // 3, x0 : x0 + w // 3] = 1
    encoded = mask_utils.encode(grid)
    bbox = [float(v) for v in mask_utils.toBbox(encoded)]
    area = float(mask_utils.area(encoded))
    # COCO writes crowd masks as uncompressed RLE: run lengths, column-major.
    flat = grid.flatten(order="F")
    counts: list[int] = []
    value, run = 0, 0
    for pixel in flat:
        if pixel == value:
            run += 1
        else:
            counts.append(run)
            value, run = int(pixel), 1
    counts.append(run)
    return {"size": [h, w], "counts": counts}, bbox, area


def make_coco(root: Path, *, n_images: int = 6, seed: int = 0) -> tuple[Path, Path]:
    """Write ``root/images/...`` and ``root/instances.json``; return (json path, images dir)."""
    rng = random.Random(seed)
    images_dir = root / "images"
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    next_id = 5000
    for i in range(n_images):
        w, h = 64 + 8 * i, 48 + 4 * i
        file_name = f"{'sub/' if i % 2 else ''}{seed}-{i:03d}.png"
        path = images_dir / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_noise_image(w, h, seed=seed * 1000 + i))
        image_id = 100 + 3 * i
        images.append(
            {
                "id": image_id,
                "file_name": file_name,
                "width": w,
                "height": h,
                "license": 1,
                "coco_url": f"http://example.org/{file_name}",
                "date_captured": "2017-11-14 11:18:45",
            }
        )
        for _ in range(2):
            poly, bbox = _polygon(rng, w, h)
            next_id += 1
            annotations.append(
                {
                    "id": next_id,
                    "image_id": image_id,
                    "category_id": 3,
                    "segmentation": [poly],
                    "area": round(bbox[2] * bbox[3] * 0.8, 3),
                    "bbox": bbox,
                    "iscrowd": 0,
                }
            )
        poly, bbox = _polygon(rng, w, h)
        keypoints: list[float] = []
        for k in range(len(KEYPOINT_NAMES)):
            visible = (i + k) % 3
            keypoints += (
                [round(bbox[0] + k, 1), round(bbox[1] + k, 1), visible] if visible else [0, 0, 0]
            )
        next_id += 1
        annotations.append(
            {
                "id": next_id,
                "image_id": image_id,
                "category_id": 1,
                "segmentation": [poly],
                "area": 42.5,
                "bbox": bbox,
                "iscrowd": 0,
                "keypoints": keypoints,
                "num_keypoints": sum(1 for v in keypoints[2::3] if v > 0),
            }
        )
        if i % 2 == 0:
            rle, bbox, area = _crowd_rle(rng, w, h)
            next_id += 1
            annotations.append(
                {
                    "id": next_id,
                    "image_id": image_id,
                    "category_id": 18,
                    "segmentation": rle,
                    "area": area,
                    "bbox": bbox,
                    "iscrowd": 1,
                }
            )
    document = {
        "info": {"description": "fixture", "year": 2017},
        "licenses": [{"id": 1, "name": "CC BY 4.0", "url": "http://example.org/license"}],
        "images": images,
        "annotations": annotations,
        "categories": CATEGORIES,
    }
    instances = root / "instances.json"
    instances.write_text(json.dumps(document))
    return instances, images_dir


def make_captions(instances: Path, root: Path) -> Path:
    """A COCO captions file for the images of ``instances`` (two captions each)."""
    document = json.loads(instances.read_text())
    captions = [
        {"id": 90_000 + 2 * n + k, "image_id": image["id"], "caption": f"image {n}, caption {k}"}
        for n, image in enumerate(document["images"])
        for k in range(2)
    ]
    path = root / "captions.json"
    path.write_text(json.dumps({"info": {}, "images": document["images"], "annotations": captions}))
    return path


def make_results(instances: Path, root: Path) -> Path:
    """A detection results file: a box, a score and a compressed RLE mask per image."""
    document = json.loads(instances.read_text())
    results = []
    for n, image in enumerate(document["images"]):
        w, h = image["width"], image["height"]
        grid = np.zeros((h, w), dtype=np.uint8, order="F")
        grid[2:10, 3:12] = 1
        rle = mask_utils.encode(grid)
        results.append(
            {
                "image_id": image["id"],
                "category_id": 3,
                "bbox": [3.0, 2.0, 9.0, 8.0],
                "score": round(0.5 + n / 100, 3),
                "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
            }
        )
    path = root / "results.json"
    path.write_text(json.dumps(results))
    return path

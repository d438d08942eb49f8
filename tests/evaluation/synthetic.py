"""A generated COCO-style set with everything COCO's rules have to handle.

Crowd regions, boxes in all three area ranges, images with more than 100 detections of one
category, a category with no ground truth and one with no detections, empty images and images
with detections only, ties in score, polygons, uncompressed and compressed RLE masks, and
COCO person keypoints (some invisible, some ground truths with none visible).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pycocotools.mask as mask_api

KEYPOINT_NAMES = [f"kp{i}" for i in range(17)]


def _polygon(x: float, y: float, w: float, h: float, rng: np.random.Generator) -> list[float]:
    cx, cy = x + w / 2, y + h / 2
    angles = np.sort(rng.uniform(0, 2 * np.pi, 6))
    return [
        float(round(v, 2))
        for a in angles
        for v in (cx + np.cos(a) * w / 2 * 0.95, cy + np.sin(a) * h / 2 * 0.95)
    ]


def _rle(x: float, y: float, w: float, h: float, height: int, width: int) -> dict[str, Any]:
    """A compressed RLE of the box's pixels (COCO results' form)."""
    mask = np.zeros((height, width), np.uint8, order="F")
    mask[int(y) : int(y + h) + 1, int(x) : int(x + w) + 1] = 1
    counts = mask_api.encode(np.asfortranarray(mask))["counts"].decode()
    return {"size": [height, width], "counts": counts}


def _uncompressed(mask: np.ndarray) -> list[int]:
    flat = mask.flatten(order="F")
    counts: list[int] = []
    current, run = 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return counts


def generate(
    seed: int = 0, *, images: int = 40, categories: int = 5, kind: str = "bbox"
) -> dict[str, Any]:
    """``{"images", "categories", "annotations", "results"}``; ids 1, 2, … in order."""
    rng = np.random.default_rng(seed)
    sizes = [(640, 480), (320, 240), (200, 300)]
    imgs = [
        {"id": i + 1, "width": sizes[i % 3][0], "height": sizes[i % 3][1], "file_name": f"i{i}.png"}
        for i in range(images)
    ]
    cats = [
        {
            "id": c + 1,
            "name": f"cat{c}",
            **({"keypoints": KEYPOINT_NAMES} if kind == "keypoints" else {}),
        }
        for c in range(categories)
    ]
    no_gt, no_dt = categories, categories - 1  # category ids with no GT / no detections
    gts: list[dict[str, Any]] = []
    dts: list[dict[str, Any]] = []
    for img in imgs:
        i, w_img, h_img = img["id"], img["width"], img["height"]
        if i % 10 == 3:
            continue  # empty image
        n_gt = 0 if i % 10 == 7 else int(rng.integers(1, 7))
        many = i % 9 == 5  # more than 100 detections on this image
        for _ in range(n_gt):
            scale = rng.choice([12.0, 50.0, 140.0])  # small, medium, large
            w = float(min(w_img - 2, max(2.0, rng.normal(scale, scale / 4))))
            h = float(min(h_img - 2, max(2.0, rng.normal(scale, scale / 4))))
            x = float(rng.uniform(0, w_img - w - 1))
            y = float(rng.uniform(0, h_img - h - 1))
            cat = int(rng.integers(1, categories))  # never the no-GT category
            crowd = int(rng.random() < 0.08)
            g: dict[str, Any] = {
                "id": len(gts) + 1,
                "image_id": i,
                "category_id": cat,
                "iscrowd": crowd,
                "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                "area": round(w * h * float(rng.uniform(0.6, 1.0)), 2),
            }
            if kind == "segm":
                if crowd:
                    mask = np.zeros((h_img, w_img), np.uint8)
                    mask[int(y) : int(y + h), int(x) : int(x + w)] = 1
                    g["segmentation"] = {"size": [h_img, w_img], "counts": _uncompressed(mask)}
                elif rng.random() < 0.3:
                    g["segmentation"] = _rle(x, y, w, h, h_img, w_img)
                else:
                    g["segmentation"] = [_polygon(x, y, w, h, rng)]
            if kind == "keypoints":
                pts = []
                visible = rng.random() > 0.15
                for _k in range(17):
                    v = int(rng.choice([0, 1, 2], p=[0.3, 0.2, 0.5])) if visible else 0
                    px, py = (rng.uniform(x, x + w), rng.uniform(y, y + h)) if v else (0.0, 0.0)
                    pts += [round(float(px), 2), round(float(py), 2), v]
                g["keypoints"] = pts
                g["num_keypoints"] = sum(1 for v in pts[2::3] if v > 0)
            gts.append(g)
            n_dt = int(rng.integers(0, 4)) if not many else 130
            for _ in range(n_dt):
                d_cat = cat if rng.random() < 0.85 else int(rng.integers(1, categories + 1))
                if d_cat == no_dt:
                    d_cat = no_gt
                jit = float(rng.normal(0, 0.12))
                dx, dy = x + w * jit, y + h * float(rng.normal(0, 0.12))
                dw, dh = w * float(rng.uniform(0.8, 1.25)), h * float(rng.uniform(0.8, 1.25))
                dx, dy = max(0.0, min(dx, w_img - dw - 1)), max(0.0, min(dy, h_img - dh - 1))
                dw, dh = max(1.0, min(dw, w_img - 1)), max(1.0, min(dh, h_img - 1))
                score = float(round(rng.random(), 2))  # two decimals: ties happen
                d: dict[str, Any] = {"image_id": i, "category_id": d_cat, "score": score}
                if kind == "bbox":
                    d["bbox"] = [round(dx, 2), round(dy, 2), round(dw, 2), round(dh, 2)]
                if kind == "segm":
                    d["segmentation"] = _rle(dx, dy, dw, dh, h_img, w_img)
                if kind == "keypoints":
                    kp = np.array(g["keypoints"], dtype=float).reshape(17, 3)
                    noise = rng.normal(0, max(w, h) * 0.05, (17, 2))
                    pts = []
                    for (gx, gy, _v), (nx, ny) in zip(kp, noise, strict=True):
                        px = gx + nx if gx else rng.uniform(x, x + w)
                        py = gy + ny if gy else rng.uniform(y, y + h)
                        pts += [round(float(px), 2), round(float(py), 2), 1]
                    d["keypoints"] = pts
                dts.append(d)
        # Detections on images with no ground truth, and false alarms anywhere.
        for _ in range(int(rng.integers(0, 3))):
            w, h = float(rng.uniform(5, 100)), float(rng.uniform(5, 100))
            x, y = float(rng.uniform(0, w_img - w - 1)), float(rng.uniform(0, h_img - h - 1))
            d = {
                "image_id": i,
                "category_id": int(rng.integers(1, categories + 1)),
                "score": float(round(rng.random(), 2)),
            }
            if d["category_id"] == no_dt:
                d["category_id"] = no_gt
            if kind == "bbox":
                d["bbox"] = [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]
            if kind == "segm":
                d["segmentation"] = _rle(x, y, w, h, h_img, w_img)
            if kind == "keypoints":
                d["keypoints"] = [
                    v
                    for _k in range(17)
                    for v in (
                        round(float(rng.uniform(x, x + w)), 2),
                        round(float(rng.uniform(y, y + h)), 2),
                        1,
                    )
                ]
            dts.append(d)
    return {"images": imgs, "categories": cats, "annotations": gts, "results": dts}

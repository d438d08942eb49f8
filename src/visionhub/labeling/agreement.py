"""How far independent labelers agree on an image, and the one label their labels merge into.

Used where ``label_times`` > 1: by the agreement endpoints (leaders see it per image and per
labeler) and by the export in ``merge`` mode. Pure functions over label annotations (the
shape ``services.labels`` stores: ``category``, ``bbox``, ``segmentation``, ``keypoints``…).

The rules, as documented in ``docs/labeling.md``:

- **Classes** (annotations without geometry). When every labeler gave at most one class (the
  usual single-label case) the class with the most votes wins; a tie goes to the category
  name first in alphabetical order. Otherwise (multi-label) each class is kept that at least
  half of the labelers gave.
- **Shapes** (boxes, polygons, masks, keypoints with a box) are clustered by IoU: pairs of
  shapes from different labelers, best IoU first, join one cluster while the IoU is at least
  ``IOU_THRESHOLD`` and no labeler would appear twice in it. A cluster is kept when at least
  half of the labelers drew it (so a tie, exactly half, is kept: each label was accepted by
  its reviewers). Its category is the majority of its members' (ties: alphabetical), its
  geometry the mean box when its members are plain boxes, else the member that overlaps the
  others most (the medoid; ties: the earliest labeler's).
- **Agreement** per image: ``class_agreement`` (the share of labelers whose classes equal the
  merged ones), ``mean_iou`` (mean IoU between the shapes of one cluster, over clusters of
  two or more) and ``matched`` (the share of shapes in a cluster with another labeler's);
  per labeler the same, over their images.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

from visionhub.datasets.services import geometry

IOU_THRESHOLD = 0.5
# Polygons and masks are compared as rasters at most this many pixels on a side.
RASTER_SIDE = 256

Annotation = dict[str, Any]


def is_shape(annotation: Annotation) -> bool:
    return any(annotation.get(k) is not None for k in ("bbox", "segmentation", "keypoints"))


def box_of(annotation: Annotation) -> list[float] | None:
    """``[x, y, w, h]``: the annotation's box, else its polygons' or keypoints' extent."""
    if annotation.get("bbox") is not None:
        return [float(v) for v in annotation["bbox"]]
    segmentation = annotation.get("segmentation")
    points: list[float] = []
    if isinstance(segmentation, list):
        for polygon in segmentation:
            points.extend(polygon)
    elif isinstance(segmentation, dict):
        rows, cols = np.nonzero(rle_mask(segmentation))
        if not len(cols):
            return None
        return [
            float(cols.min()),
            float(rows.min()),
            float(cols.max() - cols.min() + 1),
            float(rows.max() - rows.min() + 1),
        ]
    keypoints = annotation.get("keypoints")
    if not points and keypoints:
        for i in range(0, len(keypoints), 3):
            if keypoints[i + 2] > 0:
                points.extend(keypoints[i : i + 2])
    if not points:
        return None
    xs, ys = points[0::2], points[1::2]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def box_iou(a: list[float], b: list[float]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def rle_mask(rle: dict[str, Any]) -> np.ndarray:
    """The boolean mask of a COCO RLE (column-major runs, background first)."""
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = geometry.decode_rle_string(counts)
    flat = np.zeros(h * w, dtype=bool)
    pos = 0
    for i, run in enumerate(counts):
        if i % 2:
            flat[pos : pos + run] = True
        pos += run
    return flat.reshape((w, h)).T


def _raster(annotation: Annotation, frame: list[float], scale: float) -> np.ndarray:
    """The annotation's region inside ``frame`` (``[x, y, w, h]``), ``scale`` pixels per unit."""
    width = max(1, round(frame[2] * scale))
    height = max(1, round(frame[3] * scale))
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        mask = rle_mask(segmentation)
        x0, y0 = int(frame[0]), int(frame[1])
        region = mask[y0 : y0 + int(np.ceil(frame[3])), x0 : x0 + int(np.ceil(frame[2]))]
        picture = PILImage.fromarray(region.astype(np.uint8) * 255).resize((width, height))
        return np.asarray(picture) > 127
    canvas = PILImage.new("1", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    if isinstance(segmentation, list):
        for polygon in segmentation:
            xy = [
                ((polygon[i] - frame[0]) * scale, (polygon[i + 1] - frame[1]) * scale)
                for i in range(0, len(polygon), 2)
            ]
            draw.polygon(xy, fill=1)
    else:
        box = box_of(annotation) or [0.0, 0.0, 0.0, 0.0]
        x, y = (box[0] - frame[0]) * scale, (box[1] - frame[1]) * scale
        draw.rectangle([x, y, x + box[2] * scale, y + box[3] * scale], fill=1)
    return np.asarray(canvas, dtype=bool)


def iou(a: Annotation, b: Annotation) -> float:
    """Mask IoU when either has a segmentation (rasterised over both), else box IoU."""
    box_a, box_b = box_of(a), box_of(b)
    if box_a is None or box_b is None:
        return 0.0
    if a.get("segmentation") is None and b.get("segmentation") is None:
        return box_iou(box_a, box_b)
    if box_iou(box_a, box_b) == 0.0:
        return 0.0
    x0, y0 = min(box_a[0], box_b[0]), min(box_a[1], box_b[1])
    x1 = max(box_a[0] + box_a[2], box_b[0] + box_b[2])
    y1 = max(box_a[1] + box_a[3], box_b[1] + box_b[3])
    frame = [x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0)]
    scale = RASTER_SIDE / max(frame[2], frame[3])
    ma, mb = _raster(a, frame, scale), _raster(b, frame, scale)
    union = np.logical_or(ma, mb).sum()
    return float(np.logical_and(ma, mb).sum() / union) if union else 0.0


def _vote(categories: list[str | None]) -> str | None:
    """The most frequent category; a tie goes to the alphabetically first (None last)."""
    counts = Counter(categories)
    best = max(counts.values())
    tied = [c for c, n in counts.items() if n == best]
    named = sorted(c for c in tied if c is not None)
    return named[0] if named else None


@dataclass
class LabelerScore:
    """What one labeler's labels agree with, summed over images."""

    images: int = 0
    class_images: int = 0
    class_agreed: int = 0
    shapes: int = 0
    shapes_matched: int = 0
    iou_sum: float = 0.0
    iou_pairs: int = 0

    def add(self, other: LabelerScore) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "class_agreement": _ratio(self.class_agreed, self.class_images),
            "shapes": self.shapes,
            "matched": _ratio(self.shapes_matched, self.shapes),
            "mean_iou": _ratio(self.iou_sum, self.iou_pairs),
        }


def _ratio(a: float, b: int) -> float | None:
    return round(a / b, 4) if b else None


@dataclass
class MergedImage:
    annotations: list[Annotation]
    agreement: dict[str, Any]
    labelers: dict[int, LabelerScore] = field(default_factory=dict)


def _merge_classes(
    labels: list[tuple[int, list[Annotation]]],
) -> tuple[list[Annotation], dict[int, bool]]:
    given = {
        user: sorted({a.get("category") or "" for a in anns if not is_shape(a)})
        for user, anns in labels
    }
    voters = [g for g in given.values() if g]
    if not voters:
        return [], {}
    n = len(labels)
    if all(len(g) == 1 for g in voters):
        winner = _vote([g[0] for g in voters])
        chosen = [winner] if winner else []
    else:
        counts = Counter(c for g in voters for c in g)
        chosen = sorted(c for c, k in counts.items() if 2 * k >= n)
    merged = [_class_annotation(c) for c in chosen]
    return merged, {user: g == chosen for user, g in given.items()}


def _class_annotation(category: str) -> Annotation:
    return {"category": category, "bbox": None, "segmentation": None, "keypoints": None,
            "caption": "", "is_group": False, "conf": 1.0}  # fmt: skip


def _clusters(shapes: list[tuple[int, Annotation]]) -> list[list[int]]:
    """Indexes of ``shapes`` grouped by IoU, one shape per labeler in a group."""
    pairs = []
    for i, j in combinations(range(len(shapes)), 2):
        if shapes[i][0] != shapes[j][0]:
            value = iou(shapes[i][1], shapes[j][1])
            if value >= IOU_THRESHOLD:
                pairs.append((-value, i, j))
    pairs.sort()
    group = list(range(len(shapes)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(shapes))}
    for _, i, j in pairs:
        gi, gj = group[i], group[j]
        if gi == gj:
            continue
        users_i = {shapes[k][0] for k in members[gi]}
        if users_i & {shapes[k][0] for k in members[gj]}:
            continue
        for k in members[gj]:
            group[k] = gi
        members[gi].extend(members.pop(gj))
    return [sorted(m) for _, m in sorted(members.items())]


def _merged_shape(members: list[Annotation]) -> Annotation:
    if len(members) == 1:
        return dict(members[0])
    category = _vote([m.get("category") for m in members])
    plain = all(m.get("segmentation") is None and m.get("keypoints") is None for m in members)
    if plain:
        boxes = np.array([m["bbox"] for m in members], dtype=float)
        merged = dict(members[0], bbox=[round(float(v), 2) for v in boxes.mean(axis=0)])
    else:
        scores = [sum(iou(m, o) for o in members if o is not m) for m in members]
        merged = dict(members[scores.index(max(scores))])
    merged["category"] = category
    return merged


def merge_image(labels: list[tuple[int, list[Annotation]]]) -> MergedImage:
    """Merge the labels ``[(labeler id, annotations), …]`` of one image (labeler order
    breaks ties); every labeler's score on it is in ``labelers``."""
    n = len(labels)
    scores = {user: LabelerScore(images=1) for user, _ in labels}
    classes, class_ok = _merge_classes(labels)
    for user, agreed in class_ok.items():
        scores[user].class_images += 1
        scores[user].class_agreed += int(agreed)
    shapes = [(user, a) for user, anns in labels for a in anns if is_shape(a)]
    merged = list(classes)
    ious: list[float] = []
    matched = 0
    for cluster in _clusters(shapes):
        members = [shapes[i][1] for i in cluster]
        for i in cluster:
            scores[shapes[i][0]].shapes += 1
        if len(cluster) > 1:
            matched += len(cluster)
            for i in cluster:
                scores[shapes[i][0]].shapes_matched += 1
            for i, j in combinations(cluster, 2):
                value = iou(shapes[i][1], shapes[j][1])
                ious.append(value)
                for k in (i, j):
                    scores[shapes[k][0]].iou_sum += value
                    scores[shapes[k][0]].iou_pairs += 1
        if 2 * len(cluster) >= n:
            merged.append(_merged_shape(members))
    agreement = {
        "labelers": n,
        "class_agreement": _ratio(sum(class_ok.values()), len(class_ok)),
        "mean_iou": _ratio(sum(ious), len(ious)),
        "matched": _ratio(matched, len(shapes)),
        "shapes": len(shapes),
    }
    return MergedImage(merged, agreement, scores)

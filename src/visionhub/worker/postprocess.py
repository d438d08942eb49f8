"""A detection model's outputs → detections in the original image's pixels.

- ``decode_raw``: a YOLO-style tensor (one row of ``4 + C`` or ``5 + C`` numbers per anchor)
  → boxes, scores and class indices (best class per anchor, times objectness);
- ``nms``: greedy non-maximum suppression per class, vectorised: boxes are shifted apart by
  class so that one pass serves every class, and each round keeps the best remaining box and
  drops all it overlaps at once (a Python step per *kept* box, at most ``max_detections``);
- ``to_original``: input pixels (or 0-1) → the original image, undoing stretch or letterbox;
- ``paste_mask`` + ``rle_encode``: a mask at mask resolution, resized into its box,
  thresholded, and encoded as COCO's compressed RLE.

Anything that breaks the model's contract (shapes, NaN, labels outside the classes, boxes
inverted or wholly outside the image) raises ``ContractError``: that image's request fails with
the reason, the worker goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from visionhub.worker.decode import Geometry
from visionhub.worker.protocol import OutputSpec

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Before NMS, at most this many candidates by score (as torchvision's and YOLO's exporters
# do): NMS costs grow with the square of the candidates, the useful ones are the best few.
MAX_CANDIDATES = 10_000


class ContractError(ValueError):
    """The model's output for one image breaks its output contract."""


@dataclass(frozen=True, slots=True)
class Found:
    """Detections of one image, in original pixels: ``boxes`` as x1, y1, x2, y2."""

    boxes: FloatArray
    scores: FloatArray
    labels: IntArray
    masks: list[dict[str, Any]] | None = None

    def to_json(self, classes: Sequence[str]) -> list[dict[str, Any]]:
        """``[{label, score, box: [x, y, w, h], mask?}]``, best score first."""
        items: list[dict[str, Any]] = []
        for i, (box, score, label) in enumerate(
            zip(self.boxes.tolist(), self.scores.tolist(), self.labels.tolist(), strict=True)
        ):
            x1, y1, x2, y2 = box
            item: dict[str, Any] = {
                "label": classes[label],
                "score": round(score, 6),
                "box": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)],
            }
            if self.masks is not None:
                item["mask"] = self.masks[i]
            items.append(item)
        return items


def to_xyxy(boxes: FloatArray, fmt: str) -> FloatArray:
    """``xyxy``, ``xywh`` (corner and size) or ``cxcywh`` (centre and size) boxes → xyxy."""
    if fmt == "xyxy":
        return boxes.astype(np.float32, copy=True)
    out = np.empty_like(boxes, dtype=np.float32)
    if fmt == "xywh":
        out[:, :2] = boxes[:, :2]
        out[:, 2:] = boxes[:, :2] + boxes[:, 2:]
    else:
        half = boxes[:, 2:] / 2
        out[:, :2] = boxes[:, :2] - half
        out[:, 2:] = boxes[:, :2] + half
    return out


def box_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of every xyxy box of ``a`` (N) with every one of ``b`` (M): (N, M)."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(bottom_right - top_left, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    result: FloatArray = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(
        np.float32
    )
    return result


def nms(
    boxes: FloatArray,
    scores: FloatArray,
    labels: IntArray,
    *,
    iou_threshold: float,
    max_detections: int,
) -> IntArray:
    """Indices of the boxes greedy NMS keeps, per class, best score first.

    A box is dropped when a better box of its class overlaps it with an IoU above
    ``iou_threshold``. Boxes of different classes never suppress each other: each class is
    shifted by a multiple of the largest coordinate, so they cannot overlap.
    """
    if boxes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    span = float(np.max(np.abs(boxes))) + 1.0
    shifted = boxes + (labels.astype(np.float32) * 2 * span)[:, None]
    order = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
    areas = (shifted[:, 2] - shifted[:, 0]) * (shifted[:, 3] - shifted[:, 1])
    keep: list[int] = []
    while order.size and len(keep) < max_detections:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        top_left = np.maximum(shifted[best, :2], shifted[rest, :2])
        bottom_right = np.minimum(shifted[best, 2:], shifted[rest, 2:])
        wh = np.clip(bottom_right - top_left, 0, None)
        inter = wh[:, 0] * wh[:, 1]
        union = areas[best] + areas[rest] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_raw(
    tensor: FloatArray, spec: OutputSpec, num_classes: int, num_coefficients: int = 0
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray | None]:
    """One image's raw YOLO-style tensor → (boxes as given, best score, class, and the mask
    coefficients that end each row of a segmentation model) per anchor."""
    if tensor.ndim != 2:
        raise ContractError(f"the raw output of one image must be 2-D, not {tensor.shape}")
    rows = tensor.T if spec.layout == "4+C,A" else tensor
    extra = 5 if spec.layout == "A,5+C" else 4
    width = extra + num_classes + num_coefficients
    if rows.shape[1] != width:
        raise ContractError(
            f"the raw output has {rows.shape[1]} values per anchor; layout {spec.layout} with "
            f"{num_classes} classes and {num_coefficients} mask coefficients needs {width}"
        )
    class_scores = rows[:, extra : extra + num_classes]
    labels = np.argmax(class_scores, axis=1).astype(np.int64)
    scores = class_scores[np.arange(rows.shape[0]), labels]
    if extra == 5:
        scores = scores * rows[:, 4]
    coefficients = rows[:, extra + num_classes :] if num_coefficients else None
    return np.ascontiguousarray(rows[:, :4]), scores.astype(np.float32), labels, coefficients


def to_original(
    boxes: FloatArray, geometry: Geometry, *, input_size: tuple[int, int], normalized: bool
) -> FloatArray:
    """xyxy boxes in the model's input pixels (or 0-1) → the original image's pixels."""
    out = boxes.astype(np.float32, copy=True)
    if normalized:
        out[:, 0::2] *= input_size[0]
        out[:, 1::2] *= input_size[1]
    out[:, 0::2] = (out[:, 0::2] - geometry.pad_x) / geometry.scale_x
    out[:, 1::2] = (out[:, 1::2] - geometry.pad_y) / geometry.scale_y
    return out


def check_and_clip(boxes: FloatArray, width: int, height: int) -> FloatArray:
    """Boxes clipped to the image; ``ContractError`` if one is inverted or wholly outside."""
    if boxes.shape[0] == 0:
        return boxes
    inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if inverted.any():
        raise ContractError(f"box {boxes[int(np.argmax(inverted))].tolist()} is inverted")
    outside = (
        (boxes[:, 0] >= width) | (boxes[:, 1] >= height) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    )
    if outside.any():
        box = boxes[int(np.argmax(outside))].tolist()
        raise ContractError(f"box {box} lies outside the {width}x{height} image")
    clipped = boxes.copy()
    np.clip(clipped[:, 0::2], 0, width, out=clipped[:, 0::2])
    np.clip(clipped[:, 1::2], 0, height, out=clipped[:, 1::2])
    return clipped


def detect(
    boxes: FloatArray,
    scores: FloatArray,
    labels: IntArray,
    *,
    spec: OutputSpec,
    geometry: Geometry,
    input_size: tuple[int, int],
    num_classes: int,
    masks: FloatArray | None = None,
    coefficients: FloatArray | None = None,
    protos: FloatArray | None = None,
) -> Found:
    """One image's candidate boxes (in ``spec.box_format``) → its detections: contract
    checked, thresholded, NMS'd unless the model did it, mapped to the original image, masks
    pasted (``masks``: one per box, over the box) or assembled (``coefficients`` per box and
    ``protos`` over the whole input, as YOLOv8-seg) and encoded."""
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ContractError(f"boxes must be [N, 4], not {list(boxes.shape)}")
    n = boxes.shape[0]
    if scores.shape != (n,) or labels.shape != (n,):
        raise ContractError(
            f"{n} boxes need {n} scores and labels, not {list(scores.shape)} and "
            f"{list(labels.shape)}"
        )
    if masks is not None and (masks.ndim != 3 or masks.shape[0] != n):
        raise ContractError(f"{n} boxes need masks [N, h, w], not {list(masks.shape)}")
    if not np.isfinite(scores).all():
        raise ContractError("the scores hold NaN or infinite values")
    chosen = np.flatnonzero(scores >= spec.score_threshold)
    if not np.isfinite(boxes[chosen]).all():
        raise ContractError("the boxes hold NaN or infinite values")
    if chosen.size and (labels[chosen].min() < 0 or labels[chosen].max() >= num_classes):
        raise ContractError(f"a label lies outside the {num_classes} classes")
    xyxy = to_xyxy(boxes[chosen], spec.box_format)
    if spec.nms:
        order = np.argsort(-scores[chosen], kind="stable")[: spec.max_detections]
    else:
        order = nms(
            xyxy,
            scores[chosen],
            labels[chosen],
            iou_threshold=spec.iou_threshold,
            max_detections=spec.max_detections,
        )
    picked = chosen[order]
    original = to_original(xyxy[order], geometry, input_size=input_size, normalized=spec.normalized)
    original = check_and_clip(original, geometry.width, geometry.height)
    rles = None
    if coefficients is not None and protos is not None:
        if not np.isfinite(protos).all() or not np.isfinite(coefficients[picked]).all():
            raise ContractError("the mask coefficients or prototypes hold NaN or infinite values")
        m, mh, mw = protos.shape
        logits = coefficients[picked] @ protos.reshape(m, mh * mw)
        probabilities = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
        rles = [
            rle_encode(
                canvas_mask(
                    p.reshape(mh, mw).astype(np.float32),
                    box,
                    geometry,
                    input_size,
                    spec.mask_threshold,
                )
            )
            for p, box in zip(probabilities, original, strict=True)
        ]
    elif masks is not None:
        rles = [
            rle_encode(
                paste_mask(masks[i], box, geometry.width, geometry.height, spec.mask_threshold)
            )
            for i, box in zip(picked.tolist(), original, strict=True)
        ]
    return Found(original, scores[picked].astype(np.float32), labels[picked], rles)


def paste_mask(
    probabilities: FloatArray, box: FloatArray, width: int, height: int, threshold: float
) -> BoolArray:
    """A mask at mask resolution covering ``box`` (xyxy, original pixels) → the image's
    ``height`` x ``width`` mask: resized bilinearly into the box, then thresholded."""
    if not np.isfinite(probabilities).all():
        raise ContractError("a mask holds NaN or infinite values")
    canvas = np.zeros((height, width), dtype=bool)
    x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
    x1, y1 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 <= x0 or y1 <= y0:
        return canvas
    resized = Image.fromarray(np.ascontiguousarray(probabilities, dtype=np.float32), "F").resize(
        (x1 - x0, y1 - y0), Image.Resampling.BILINEAR
    )
    canvas[y0:y1, x0:x1] = np.asarray(resized) >= threshold
    return canvas


def canvas_mask(
    probabilities: FloatArray,
    box: FloatArray,
    geometry: Geometry,
    input_size: tuple[int, int],
    threshold: float,
) -> BoolArray:
    """A mask over the whole model input (prototype resolution) → the original image's mask:
    the part showing the image (without letterbox padding) resized bilinearly to the image,
    thresholded, and cropped to ``box`` (xyxy, original pixels)."""
    mh, mw = probabilities.shape
    sx, sy = mw / input_size[0], mh / input_size[1]
    region = (
        geometry.pad_x * sx,
        geometry.pad_y * sy,
        (geometry.pad_x + geometry.width * geometry.scale_x) * sx,
        (geometry.pad_y + geometry.height * geometry.scale_y) * sy,
    )
    resized = Image.fromarray(np.ascontiguousarray(probabilities), "F").resize(
        (geometry.width, geometry.height), Image.Resampling.BILINEAR, box=region
    )
    mask = np.asarray(resized) >= threshold
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    cropped = np.zeros_like(mask)
    cropped[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
    return cropped


def rle_encode(mask: BoolArray) -> dict[str, Any]:
    """COCO's compressed RLE of a binary mask: ``{"size": [h, w], "counts": str}``, runs in
    column-major order starting with a run of zeros (as ``pycocotools.mask.encode``)."""
    height, width = mask.shape
    flat = mask.ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs.insert(0, 0)
    return {"size": [height, width], "counts": _rle_string(runs)}


def _rle_string(counts: list[int]) -> str:
    """pycocotools' ``rleToString``: each count (minus the one two before it, from the third
    on) as 5-bit groups, least significant first, plus 48."""
    out: list[str] = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def rle_decode(rle: dict[str, Any]) -> BoolArray:
    """The binary mask of a compressed (or plain list) COCO RLE."""
    height, width = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = _rle_counts(counts)
    flat = np.zeros(height * width, dtype=bool)
    position, value = 0, False
    for run in counts:
        if value:
            flat[position : position + run] = True
        position += run
        value = not value
    return flat.reshape((width, height)).T


def _rle_counts(text: str) -> list[int]:
    counts: list[int] = []
    position = 0
    while position < len(text):
        x, shift, more = 0, 0, True
        while more:
            c = ord(text[position]) - 48
            x |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            position += 1
            shift += 5
            if not more and c & 0x10:
                x |= -1 << shift
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts

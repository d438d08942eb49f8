"""Validation of what a model definition declares: classes, input spec and file specs.

Every entry point (API, CLI, import of a bundle) goes through these, so a definition in the
database always has a complete input spec and well-formed file specs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from visionhub.core.errors import Invalid

LAYOUTS = ("NCHW", "NHWC", "flat")
OUTPUTS = ("logits", "probabilities")
RESIZES = ("stretch", "letterbox")
TASKS = ("classification", "detection", "segmentation")
BOX_FORMATS = ("xyxy", "xywh", "cxcywh")
DETECTION_FORMATS = ("boxes", "raw")
# A raw (YOLO-style) tensor: [4 + C, A] (anchors last, no objectness, as YOLOv8), or
# [A, 4 + C] / [A, 5 + C] (anchors first, the latter with an objectness score, as YOLOv5).
RAW_LAYOUTS = ("4+C,A", "A,4+C", "A,5+C")
OUTPUT_NAME_RE = re.compile(r"^.{1,200}$", re.DOTALL)
DEFAULT_PAD = 114
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$")
MAX_SIDE = 65_536
MB = 1024 * 1024

DEFAULT_FILE_SPECS: list[dict[str, Any]] = [
    {"name": "model.onnx", "description": "ONNX model", "required": True, "max_mb": None}
]


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid("invalid_input_spec", f"input.{field} must be a finite number")
    return float(value)


def _vector(value: Any, field: str, channels: int, default: float) -> list[float]:
    if value is None:
        return [default] * channels
    if not isinstance(value, list | tuple):
        raise Invalid("invalid_input_spec", f"input.{field} must be a list of numbers")
    numbers = [_number(v, field) for v in value]
    if len(numbers) != channels:
        raise Invalid(
            "invalid_input_spec",
            f"input.{field} must have one value per channel ({channels}), not {len(numbers)}",
            details={"field": field, "channels": channels, "length": len(numbers)},
        )
    return numbers


def clean_input_spec(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A complete input spec from ``raw``; raises ``invalid_input_spec`` (422).

    ``width`` and ``height`` are required; ``channels`` defaults to 3, ``layout`` to NCHW,
    ``scale`` to 1/255, ``mean`` to zeros, ``std`` to ones, ``output`` to logits and ``resize``
    to stretch (``letterbox`` keeps the aspect ratio and pads with ``pad``, one value 0-255 per
    channel, 114 by default).
    """
    if not isinstance(raw, Mapping):
        raise Invalid("invalid_input_spec", "input must be an object")
    known = {"width", "height", "channels", "layout", "scale", "mean", "std", "output"}
    unknown = set(raw) - known - {"resize", "pad"}
    if unknown:
        raise Invalid(
            "invalid_input_spec",
            f"unknown input keys: {', '.join(sorted(unknown))}",
            details={"unknown": sorted(unknown)},
        )
    sizes: dict[str, int] = {}
    for side in ("width", "height"):
        value = raw.get(side)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIDE:
            raise Invalid(
                "invalid_input_spec", f"input.{side} must be an integer from 1 to {MAX_SIDE}"
            )
        sizes[side] = value
    channels = raw.get("channels", 3)
    if channels not in (1, 3) or isinstance(channels, bool):
        raise Invalid("invalid_input_spec", "input.channels must be 1 or 3")
    layout = raw.get("layout", "NCHW")
    if layout not in LAYOUTS:
        raise Invalid("invalid_input_spec", f"input.layout must be one of {', '.join(LAYOUTS)}")
    output = raw.get("output", "logits")
    if output not in OUTPUTS:
        raise Invalid("invalid_input_spec", f"input.output must be one of {', '.join(OUTPUTS)}")
    scale = _number(raw.get("scale", 1 / 255), "scale")
    if scale == 0:
        raise Invalid("invalid_input_spec", "input.scale must not be zero")
    mean = _vector(raw.get("mean"), "mean", channels, 0.0)
    std = _vector(raw.get("std"), "std", channels, 1.0)
    if any(s == 0 for s in std):
        raise Invalid("invalid_input_spec", "input.std values must not be zero")
    resize = raw.get("resize", "stretch")
    if resize not in RESIZES:
        raise Invalid("invalid_input_spec", f"input.resize must be one of {', '.join(RESIZES)}")
    pad = _vector(raw.get("pad"), "pad", channels, DEFAULT_PAD)
    if not all(0 <= v <= 255 for v in pad):
        raise Invalid("invalid_input_spec", "input.pad values must be from 0 to 255")
    return {
        "width": sizes["width"],
        "height": sizes["height"],
        "channels": channels,
        "layout": layout,
        "scale": scale,
        "mean": mean,
        "std": std,
        "output": output,
        "resize": resize,
        "pad": pad,
    }


def _output_error(message: str, **details: Any) -> Invalid:
    return Invalid("invalid_output_spec", message, details=details or None)


def _fraction(raw: Mapping[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _output_error(f"output.{key} must be a number from 0 to 1")
    return float(value)


def _output_name(raw: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = raw.get(key, default)
    if value is not None and (not isinstance(value, str) or not OUTPUT_NAME_RE.match(value)):
        raise _output_error(f"output.{key} must be the name of one of the model's outputs")
    return value


def _choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = raw.get(key, default)
    if value not in choices:
        raise _output_error(f"output.{key} must be one of {', '.join(choices)}")
    return str(value)


OUTPUT_KEYS = frozenset(
    {
        "format",
        "boxes",
        "scores",
        "labels",
        "masks",
        "tensor",
        "layout",
        "box_format",
        "normalized",
        "nms",
        "score_threshold",
        "iou_threshold",
        "max_detections",
        "mask_threshold",
        "label_offset",
        "protos",
    }
)


def clean_output_spec(task: str, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The complete output contract of a ``task``'s model; raises ``invalid_output_spec`` (422).

    Classification models have none (``{}``: ``input.output`` says logits or probabilities).
    Detection and segmentation models say where their detections are:

    - ``format: boxes`` (torchvision-style): outputs named ``boxes`` [N, 4], ``scores`` [N] and
      ``labels`` [N] (each optionally with a leading batch dimension), plus ``masks``
      [N, h, w] or [N, 1, h, w] (probabilities over each box) for segmentation; ``nms``
      defaults to true (the model applied it). ``label_offset`` is subtracted from the labels
      (1 for torchvision's background-first numbering).
    - ``format: raw`` (YOLO-style): one tensor (``tensor``, default the first output) of
      ``layout`` ``4+C,A``, ``A,4+C`` or ``A,5+C``; ``nms`` defaults to false (the worker
      applies it, per class). For segmentation (YOLOv8-seg), each anchor's row ends with M mask
      coefficients and ``protos`` names the ``[B, M, h, w]`` prototypes over the whole input:
      an instance's mask is ``sigmoid(coefficients @ protos)``, cropped to its box.

    ``box_format`` is ``xyxy``, ``xywh`` or ``cxcywh``, in input pixels or ``normalized`` to
    0-1; ``score_threshold`` (0.25), ``iou_threshold`` of NMS (0.45), ``max_detections``
    (100) and ``mask_threshold`` (0.5) are the defaults the worker applies.
    """
    if task == "classification":
        if raw:
            raise _output_error("a classification model has no output spec (see input.output)")
        return {}
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _output_error("output must be an object")
    unknown = set(raw) - OUTPUT_KEYS
    if unknown:
        raise _output_error(
            f"unknown output keys: {', '.join(sorted(unknown))}", unknown=sorted(unknown)
        )
    fmt = _choice(raw, "format", DETECTION_FORMATS, "boxes")
    nms = raw.get("nms", fmt == "boxes")
    normalized = raw.get("normalized", False)
    if not isinstance(nms, bool) or not isinstance(normalized, bool):
        raise _output_error("output.nms and output.normalized must be booleans")
    max_detections = raw.get("max_detections", 100)
    if isinstance(max_detections, bool) or not isinstance(max_detections, int):
        raise _output_error("output.max_detections must be an integer from 1 to 10000")
    if not 1 <= max_detections <= 10_000:
        raise _output_error("output.max_detections must be an integer from 1 to 10000")
    offset = raw.get("label_offset", 0)
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 1000:
        raise _output_error("output.label_offset must be an integer from 0 to 1000")
    spec: dict[str, Any] = {
        "format": fmt,
        "box_format": _choice(
            raw, "box_format", BOX_FORMATS, "xyxy" if fmt == "boxes" else "cxcywh"
        ),
        "normalized": normalized,
        "nms": nms,
        "score_threshold": _fraction(raw, "score_threshold", 0.25),
        "iou_threshold": _fraction(raw, "iou_threshold", 0.45),
        "max_detections": max_detections,
    }
    if fmt == "boxes":
        if "tensor" in raw or "layout" in raw:
            raise _output_error("tensor and layout belong to format raw")
        spec["boxes"] = _output_name(raw, "boxes", "boxes")
        spec["scores"] = _output_name(raw, "scores", "scores")
        spec["labels"] = _output_name(raw, "labels", "labels")
        spec["label_offset"] = offset
    else:
        if any(key in raw for key in ("boxes", "scores", "labels", "masks", "label_offset")):
            raise _output_error(
                "boxes, scores, labels, masks and label_offset belong to format boxes"
            )
        spec["tensor"] = _output_name(raw, "tensor", None)
        spec["layout"] = _choice(raw, "layout", RAW_LAYOUTS, "4+C,A")
    if task == "segmentation" and fmt == "boxes":
        if "protos" in raw:
            raise _output_error("protos belong to format raw (masks to format boxes)")
        spec["masks"] = _output_name(raw, "masks", "masks")
    elif task == "segmentation":
        if "masks" in raw:
            raise _output_error("masks belong to format boxes (protos to format raw)")
        spec["protos"] = _output_name(raw, "protos", "protos")
    elif any(key in raw for key in ("masks", "protos", "mask_threshold")):
        raise _output_error("masks and protos belong to segmentation models")
    if task == "segmentation":
        spec["mask_threshold"] = _fraction(raw, "mask_threshold", 0.5)
    return spec


def clean_file_specs(raw: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Well-formed, uniquely named file specs; ``None`` gives one required ``model.onnx``.

    Raises ``invalid_file_spec`` (422). ``max_mb`` is a positive number or null (no limit).
    """
    if raw is None:
        return [dict(spec) for spec in DEFAULT_FILE_SPECS]
    specs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, Mapping):
            raise Invalid("invalid_file_spec", "each file spec must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not FILE_NAME_RE.match(name):
            raise Invalid(
                "invalid_file_spec",
                "file names are 1-255 characters of letters, digits, '.', '_' and '-'",
                details={"name": name},
            )
        if name in seen:
            raise Invalid("invalid_file_spec", f"file {name!r} is declared twice")
        seen.add(name)
        max_mb = item.get("max_mb")
        if max_mb is not None:
            max_mb = _file_limit(max_mb, name)
        description = item.get("description", "")
        required = item.get("required", True)
        if not isinstance(description, str) or not isinstance(required, bool):
            raise Invalid(
                "invalid_file_spec", f"file {name!r}: description is text, required a boolean"
            )
        specs.append(
            {"name": name, "description": description, "required": required, "max_mb": max_mb}
        )
    return specs


def _file_limit(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise Invalid("invalid_file_spec", f"file {name!r}: max_mb must be a positive number")
    if not math.isfinite(value):
        raise Invalid("invalid_file_spec", f"file {name!r}: max_mb must be finite")
    return value


def clean_classes(raw: Iterable[Any]) -> list[str]:
    """Class names: distinct, non-empty strings, in the order the model outputs them."""
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        raise Invalid("invalid_classes", "classes must be a list of names")
    classes = list(raw)
    if not all(isinstance(c, str) and c.strip() and len(c) <= 200 for c in classes):
        raise Invalid(
            "invalid_classes", "class names must be non-empty strings of at most 200 characters"
        )
    if len(set(classes)) != len(classes):
        raise Invalid("invalid_classes", "class names must be distinct")
    return classes


def clean_task(task: str) -> str:
    if task not in TASKS:
        raise Invalid("invalid_task", f"task must be one of {', '.join(TASKS)}")
    return task


def max_bytes(spec: Mapping[str, Any], server_cap_mb: int | None = None) -> int | None:
    """The byte limit of a file spec, capped by the server's own limit (if any)."""
    limits = [v for v in (spec.get("max_mb"), server_cap_mb) if v is not None]
    return int(min(limits) * MB) if limits else None

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
TASKS = ("classification", "detection")
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
    ``scale`` to 1/255, ``mean`` to zeros, ``std`` to ones and ``output`` to logits.
    """
    if not isinstance(raw, Mapping):
        raise Invalid("invalid_input_spec", "input must be an object")
    unknown = set(raw) - {"width", "height", "channels", "layout", "scale", "mean", "std", "output"}
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
    return {
        "width": sizes["width"],
        "height": sizes["height"],
        "channels": channels,
        "layout": layout,
        "scale": scale,
        "mean": mean,
        "std": std,
        "output": output,
    }


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

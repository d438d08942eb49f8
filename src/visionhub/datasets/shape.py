"""The shape of one annotation in a bulk body, declared once.

Everything that reads annotations derives from ``SHAPE``: the careful checks of plain JSON
values (``CHECKS``, which name every wrong field), the typed decoding of bulk bodies
(``Item``, a msgspec struct whose geometry stays raw JSON text) and the schema the API
documents (``BODY_SCHEMA``). A field added here is known to all three.

Geometry is optional: none at all is a classification. ``segmentation``: COCO polygons
``[[x, y, …], …]`` or RLE ``{"size": [h, w], "counts": […] or "compressed"}``. ``keypoints``:
``[x, y, v] * K`` for the K keypoint names of the category. ``area`` defaults to the mask's,
else the box's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

_BigInt = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# The raw JSON text of an absent geometry field.
NULL = msgspec.Raw(b"null")


def is_int(value: Any) -> bool:
    """An integer a bigint column holds."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Field:
    """One field: how plain JSON is checked (``check``, ``must_be`` for the error), its type
    when a body is decoded (``typed``: ``msgspec.Raw`` keeps it as text), its default, and
    its JSON schema."""

    name: str
    check: Callable[[Any], bool]
    must_be: str
    typed: Any
    default: Any
    schema: dict[str, Any]
    required: bool = False

    @property
    def raw(self) -> bool:
        return self.typed is msgspec.Raw

    @property
    def typed_default(self) -> Any:
        return NULL if self.raw else self.default


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


_INT = {"type": "integer"}
_NUMBER = {"type": "number"}
_NUMBERS = {"type": "array", "items": _NUMBER}

SHAPE: tuple[Field, ...] = (
    Field("image_id", _optional(is_int), "an integer", _BigInt | None, None, _INT),
    Field("label_set_id", is_int, "an integer", _BigInt, None, _INT, required=True),
    Field("category_id", _optional(is_int), "an integer or null", _BigInt | None, None, _INT),
    Field("conf", is_number, "a number", float, 1.0, _NUMBER),
    Field("is_group", lambda v: isinstance(v, bool), "true or false", bool, False,
          {"type": "boolean"}),
    Field("bbox", _optional(lambda v: isinstance(v, list)), "a list", list[float] | None, None,
          {**_NUMBERS, "minItems": 4, "maxItems": 4}),
    Field("area", _optional(is_number), "a number", float | None, None, _NUMBER),
    Field("segmentation", lambda v: True, "", msgspec.Raw, None,
          {"description": "polygons [[x, y, …], …] or RLE {size, counts}"}),
    Field("keypoints", _optional(lambda v: isinstance(v, list)), "a list", msgspec.Raw, None,
          _NUMBERS),
    Field("caption", lambda v: isinstance(v, str), "a string", str, "", {"type": "string"}),
    Field("confirm_type", is_int, "an integer", _BigInt, 0, {"enum": [0, 1, 2]}),
    Field("compare_result", _optional(lambda v: isinstance(v, dict)), "an object", msgspec.Raw,
          None, {"type": "object"}),
    Field("matched_gt_id", _optional(is_int), "an integer", _BigInt | None, None, _INT),
)  # fmt: skip

# The careful path: field name → (check of a plain JSON value, default, what it must be).
CHECKS: dict[str, tuple[Callable[[Any], bool], Any, str]] = {
    f.name: (f.check, f.default, f.must_be) for f in SHAPE
}
DEFAULTS: dict[str, Any] = {f.name: f.default for f in SHAPE}
REQUIRED: tuple[str, ...] = tuple(f.name for f in SHAPE if f.required)
RAW_FIELDS: tuple[str, ...] = tuple(f.name for f in SHAPE if f.raw)

# The typed path: one annotation of a bulk body, its types checked in C while decoding.
Item = msgspec.defstruct(
    "Item",
    [
        (f.name, f.typed) if f.required else (f.name, f.typed, f.typed_default)
        for f in sorted(SHAPE, key=lambda f: not f.required)
    ],
    forbid_unknown_fields=True,
    gc=False,
    module=__name__,
)


class Body(msgspec.Struct, gc=False):
    annotations: list[Item]  # type: ignore[valid-type]


# What the API documents for a bulk body.
BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["annotations"],
    "additionalProperties": False,
    "properties": {
        "annotations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": list(REQUIRED),
                "additionalProperties": False,
                "properties": {f.name: f.schema for f in SHAPE},
            },
        }
    },
}

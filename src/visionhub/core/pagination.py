"""Keyset (cursor) pagination for every list of the API.

A page is ``{"items": [...], "next_cursor": "…" | null}``. The cursor is opaque to clients: a
URL-safe base64 of the sort key of the last item. Keyset pagination costs the same on page 1 and
page 10,000 (an index seek, never an OFFSET scan), and stays stable while rows are inserted.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from ninja import Schema

from visionhub.core.errors import Invalid

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

M = TypeVar("M", bound=Model)
T = TypeVar("T")


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class PageResult(Generic[M]):
    items: list[M]
    next_cursor: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, UUID):
        return str(value)
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        return datetime.fromisoformat(value["dt"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, expected_len: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("invalid_cursor", "the cursor is not one this server issued") from None
    if not isinstance(values, list) or len(values) != expected_len:
        raise Invalid("invalid_cursor", "the cursor is not one this server issued")
    return [_decode_value(v) for v in values]


def check_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise Invalid(
            "invalid_limit", f"limit must be between 1 and {MAX_LIMIT}", details={"limit": limit}
        )
    return limit


def _after(fields: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after ``values`` in the order of ``fields`` ('-' prefix = descending).

    The leading ``first >= v`` (or ``<=``) is implied by the OR that follows; it is spelled out
    because it lets the database seek the index to the page instead of scanning from the start.
    """
    first = fields[0]
    bound = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]})
    condition = Q()
    for i, field in enumerate(fields):
        name = field.lstrip("-")
        op = "lt" if field.startswith("-") else "gt"
        step = Q(**{f"{name}__{op}": values[i]})
        for prev_field, prev_value in zip(fields[:i], values[:i], strict=True):
            step &= Q(**{prev_field.lstrip("-"): prev_value})
        condition |= step
    return bound & condition


def paginate(
    queryset: QuerySet[M],
    *,
    order_by: Sequence[str] = ("id",),
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> PageResult[M]:
    """One page of ``queryset`` in the order of ``order_by``, which must end in a unique field.

    Fetches ``limit + 1`` rows to know whether another page exists; never counts the table.
    """
    check_limit(limit)
    fields = list(order_by)
    qs = queryset.order_by(*fields)
    if cursor:
        try:
            qs = qs.filter(_after(fields, decode_cursor(cursor, len(fields))))
        except (ValueError, TypeError, ValidationError):
            raise Invalid("invalid_cursor", "the cursor is not one this server issued") from None
    rows = list(qs[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor_for(rows[-1], fields)
    return PageResult(items=rows, next_cursor=next_cursor)


def cursor_for(item: Model, order_by: Sequence[str]) -> str:
    """The cursor of the page that starts right after ``item`` in the order ``order_by``."""
    return encode_cursor([_attr(item, f.lstrip("-")) for f in order_by])


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, part)
    if isinstance(obj, Model):
        return obj.pk
    return obj

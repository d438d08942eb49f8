"""``sort_by`` for every benchmark list: several comma-separated keys, each ``+key`` (ascending,
the default) or ``-key`` (descending), keyset-paginated.

A list names its keys (``SortKey``: one or more columns, each an expression with the codec its
cursor value needs); ``page_sorted`` orders by those columns and then by ``id`` (in the
direction of the last key), and reads the page after a cursor holding the last row's values.
When every column runs one way the cursor condition is a row-value comparison, one seek in an
index on the same columns; with mixed directions it is the equivalent OR of conditions behind a
bound on the first column, so the index is still entered at the page (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

from django.db import connection
from django.db.models import F, Model, Q, QuerySet
from django.db.models import UUIDField as BenchmarkIdField

from visionhub.benchmarks.jsonsql import RowCompare
from visionhub.core.errors import Invalid
from visionhub.core.pagination import PageResult, check_limit, decode_cursor, encode_cursor

Codec = Literal["datetime", "text", "decimal", "float", "int"]
MAX_SORT_KEYS = 5


@dataclass(frozen=True)
class Column:
    """One ORDER BY column: an expression (or field name) and how its value travels in a cursor.

    ``fixed`` columns run ascending whatever the key's direction (a json key's kind: numbers
    before strings before missing values, in either direction)."""

    expression: Any
    codec: Codec
    fixed: bool = False


@dataclass(frozen=True)
class SortKey:
    name: str
    columns: tuple[Column, ...]
    descending: bool
    path: tuple[str, ...] | None = None  # a json path key (results)


KeyMaker = Callable[[str, bool], SortKey | None]


def named(name: str, expression: Any, codec: Codec) -> tuple[str, KeyMaker]:
    """A ``(name, maker)`` entry for ``parse_sort_by``'s ``keys``: a one-column key."""

    def make(text: str, descending: bool) -> SortKey | None:
        if text != name:
            return None
        return SortKey(name, (Column(expression, codec),), descending)

    return name, make


def parse_sort_by(
    text: str, keys: Mapping[str, KeyMaker], *, fallback: KeyMaker | None = None
) -> list[SortKey]:
    """``+site_name,-upload_datetime`` → keys. A part names one of ``keys``; otherwise
    ``fallback`` (the results' json paths) may read it. 422 ``invalid_sort`` when neither does.

    A ``+`` in a URL's query string arrives as a space: leading spaces mean ascending too.
    """
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > MAX_SORT_KEYS:
        raise _invalid(text, f"at most {MAX_SORT_KEYS} sort keys", keys)
    out: list[SortKey] = []
    for part in parts:
        descending = part.startswith("-")
        bare = part[1:].strip() if part[:1] in "+-" and part else part
        if not bare:
            raise _invalid(text, "an empty sort key", keys)
        maker = keys.get(bare)
        key = maker(bare, descending) if maker is not None else None
        if key is None and fallback is not None:
            key = fallback(bare, descending)
        if key is None:
            raise _invalid(text, f"unknown sort key {bare[:100]!r}", keys)
        if any(key.name == seen.name for seen in out):
            raise _invalid(text, f"the sort key {bare[:100]!r} appears twice", keys)
        out.append(key)
    return out


def _invalid(text: str, reason: str, keys: Mapping[str, KeyMaker]) -> Invalid:
    return Invalid(
        "invalid_sort",
        f"cannot read sort_by {text[:200]!r}: {reason}",
        details={"sort_by": text[:500], "reason": reason, "keys": sorted(keys)},
    )


def _encode(codec: Codec, value: Any) -> Any:
    if codec == "datetime":
        return value.isoformat()
    if codec == "decimal":
        return str(value)
    return value


def _decode(codec: Codec, value: Any) -> Any:
    if codec == "datetime":
        return datetime.fromisoformat(value)
    if codec == "decimal":
        return Decimal(value)
    if codec == "float":
        return float(value)
    if codec == "int":
        return int(value)
    if not isinstance(value, str):
        raise TypeError("text expected")
    return value


def _raw(codec: Codec, value: Any) -> Any:
    """A value as a raw SQL parameter (RowCompare bypasses the fields' own adaptation)."""
    if codec == "datetime":
        return connection.ops.adapt_datetimefield_value(value)
    return value


def order_queryset(
    qs: QuerySet[Any], keys: Sequence[SortKey]
) -> tuple[QuerySet[Any], list[tuple[str, Column, bool]]]:
    """``qs`` annotated with the keys' columns (``_sort_0``…) and ordered by them, then id;
    and the columns as ``(alias, column, descending)``."""
    columns: list[tuple[str, Column, bool]] = []
    for key in keys:
        for column in key.columns:
            name = f"_sort_{len(columns)}"
            columns.append((name, column, key.descending and not column.fixed))
    qs = qs.annotate(**{name: column.expression for name, column, _ in columns})
    qs = qs.order_by(
        *(f"-{name}" if down else name for name, _, down in columns),
        "-id" if keys[-1].descending else "id",
    )
    return qs, columns


def page_sorted(
    qs: QuerySet[Any], keys: Sequence[SortKey], *, cursor: str | None, limit: int
) -> PageResult[Any]:
    """One page of ``qs`` in the order of ``keys``, ties broken by id; see the module docstring.

    422 ``invalid_cursor`` for a cursor this order did not issue."""
    check_limit(limit)
    qs, columns = order_queryset(qs, keys)
    tie_descending = keys[-1].descending
    if cursor:
        values = decode_cursor(cursor, len(columns) + 1)
        try:
            decoded = [_decode(c.codec, v) for (_, c, _), v in zip(columns, values, strict=False)]
            last_id = UUID(str(values[-1]))
        except (ValueError, TypeError, InvalidOperation):
            raise Invalid("invalid_cursor", "the cursor is not one this server issued") from None
        qs = qs.filter(_after(columns, decoded, last_id, tie_descending))
    rows = list(qs[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last: Model = rows[-1]
        next_cursor = encode_cursor(
            [_encode(c.codec, getattr(last, name)) for name, c, _ in columns] + [str(last.pk)]
        )
    return PageResult(items=rows, next_cursor=next_cursor)


def _after(
    columns: Sequence[tuple[str, Column, bool]],
    values: Sequence[Any],
    last_id: UUID,
    tie_descending: bool,
) -> Q | RowCompare:
    """Rows strictly after the cursor's row in the order of ``columns`` then id."""
    ways = [down for _, _, down in columns] + [tie_descending]
    if len(set(ways)) == 1:
        raws = [_raw(c.codec, v) for (_, c, _), v in zip(columns, values, strict=True)]
        id_field = BenchmarkIdField()
        return RowCompare(
            [F(name) for name, _, _ in columns] + [F("id")],
            "<" if tie_descending else ">",
            [*raws, id_field.get_db_prep_value(last_id, connection)],
        )
    names = [name for name, _, _ in columns] + ["id"]
    allvalues = [*values, last_id]
    first_way = "lte" if ways[0] else "gte"
    condition = Q()
    for index, name in enumerate(names):
        step = Q(**{f"{name}__{'lt' if ways[index] else 'gt'}": allvalues[index]})
        for previous, value in zip(names[:index], allvalues[:index], strict=True):
            step &= Q(**{previous: value})
        condition |= step
    # The bound is implied by the OR; spelled out, it lets the database enter the index there.
    return Q(**{f"{names[0]}__{first_way}": allvalues[0]}) & condition

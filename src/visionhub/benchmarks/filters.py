"""The query syntax on result JSON: ``filters=<path.with.dots> <op> <value>`` and ``sort_by``.

The syntax is the original's (``machine.cpu.count >= 4``): a dotted path into the result's
``json`` (an all-digit part indexes an array), one of ``==``, ``>``, ``<``, ``>=``, ``<=``, and a
value. The value decides the comparison:

* a number (``4``, ``-2.5``, ``1e3``) compares numerically with values that are JSON numbers;
* ``"quoted"`` or ``'quoted'`` text, or any other bare text (``GenuineIntel``,
  ``AMD EPYC Processor (with IBPB)``), compares as a string (by code point) with values that are
  JSON strings; bare text may not start with ``<``, ``>`` or ``=`` (``a >> 1`` is a typo);
* ``true``, ``false`` (also ``True``/``TRUE``, ``False``/``FALSE``, as the original accepts) and
  ``null`` match those JSON values, with ``==`` only; the *string* ``"True"`` is written quoted.

A value of another JSON type never matches: ``count >= 4`` skips results whose ``count`` is a
string. The same Django expressions run on PostgreSQL (JSONB: ``#>``/``#>>``, ``jsonb_typeof``,
a cast to ``numeric``) and SQLite (JSON1: ``json_extract``/``json_type``). On PostgreSQL an
expression index on a filter's expression makes it an index scan and gives the planner the
path's statistics (docs/benchmarks.md).

``contains=<JSON object>`` is JSONB containment (``@>``), answered by the GIN index on
PostgreSQL and emulated with JSON1 on SQLite. It is kept apart from ``==`` on purpose: the
planner estimates every ``@>`` at a fixed selectivity, so adding it to ``==`` made a common value
(a sixth of the rows) 150 times slower while making a rare one fast (benchmarks/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

import orjson
from django.db import connection
from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact

from visionhub.accounts.models import Identity
from visionhub.benchmarks.jsonsql import (
    CodePoints,
    JsonArrayHolds,
    JsonTypeIs,
    Kind,
    RowCompare,
    json_number,
    json_string,
    scalar_kind,
)
from visionhub.benchmarks.models import BenchmarkResult, Tag
from visionhub.benchmarks.search import result_terms
from visionhub.benchmarks.sorting import (
    Column,
    KeyMaker,
    SortKey,
    named,
    page_sorted,
    parse_sort_by,
)
from visionhub.core.errors import Invalid
from visionhub.core.pagination import (
    PageResult,
    check_limit,
    decode_cursor,
    encode_cursor,
    paginate,
)

Op = Literal["==", ">", "<", ">=", "<="]

OPERATORS: dict[str, str] = {"==": "exact", ">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}
MAX_PATH_LENGTH = 300
MAX_PATH_DEPTH = 32
MAX_FILTERS = 20

_FILTER_RE = re.compile(
    r"^\s*(?P<path>[^\s<>=]+)\s*(?P<op>==|>=|<=|>|<)\s*(?P<value>.*?)\s*$", re.S
)
_PART_RE = re.compile(r"^[^\s.<>=\"']+$")
_NEGATIVE_RE = re.compile(r"^\s*-\s*\d")
# The spellings of booleans the original accepts; quote them to match a string ("True").
BOOLEANS = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_NUMBER_RE = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


@dataclass(frozen=True)
class JsonFilter:
    """One parsed condition on the result json."""

    path: tuple[str, ...]
    op: Op
    value: Decimal | str | bool | None
    kind: Kind


@dataclass(frozen=True)
class JsonSort:
    path: tuple[str, ...]
    descending: bool


def _invalid(text: str, reason: str) -> Invalid:
    return Invalid(
        "invalid_filter",
        f"cannot read the filter {text[:200]!r}: {reason}",
        details={"filter": text[:500], "reason": reason},
    )


def parse_path(text: str, *, original: str | None = None) -> tuple[str, ...]:
    """``machine.cpu.count`` → ``("machine", "cpu", "count")``; 422 ``invalid_filter`` if bad."""
    where = original if original is not None else text
    if not text or len(text) > MAX_PATH_LENGTH:
        raise _invalid(where, f"a path is 1-{MAX_PATH_LENGTH} characters")
    parts = tuple(text.split("."))
    if len(parts) > MAX_PATH_DEPTH:
        raise _invalid(where, f"a path has at most {MAX_PATH_DEPTH} parts")
    if not all(_PART_RE.match(part) for part in parts):
        raise _invalid(where, "a path is names separated by single dots")
    if any(_NEGATIVE_RE.match(part) for part in parts):
        # A number is an array index (counted from 0); SQLite has no negative ones.
        raise _invalid(where, "array indexes in a path are 0 or more")
    return parts


def parse_value(text: str, *, original: str) -> tuple[Decimal | str | bool | None, Kind]:
    """A filter value and the JSON type it compares with (see the module docstring)."""
    if not text:
        raise _invalid(original, "the value is missing")
    if text[0] in "\"'":
        if len(text) < 2 or text[-1] != text[0]:
            raise _invalid(original, "the quoted value has no closing quote")
        if text[0] == '"':
            try:
                decoded = orjson.loads(text)
            except ValueError:
                raise _invalid(original, "the quoted value is not a JSON string") from None
            return str(decoded), "string"
        return text[1:-1], "string"
    if text[0] in "<>=":
        raise _invalid(original, "a value starting with < > or = must be quoted")
    if text in BOOLEANS:
        return (True, "true") if BOOLEANS[text] else (False, "false")
    if text == "null":
        return None, "null"
    if _NUMBER_RE.match(text):
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _invalid(original, "the number cannot be read") from None
        if not number.is_finite() or abs(number.adjusted()) > 1000:
            raise _invalid(original, "the number is out of range")
        return number, "number"
    return text, "string"


def parse_filter(text: str) -> JsonFilter:
    """Parse ``<path> <op> <value>``; raise 422 ``invalid_filter`` when it cannot be read."""
    match = _FILTER_RE.match(text)
    if match is None:
        raise _invalid(text, "expected '<path> <op> <value>' with op one of == > < >= <=")
    path = parse_path(match["path"], original=text)
    op: Op = match["op"]  # type: ignore[assignment]
    value, kind = parse_value(match["value"], original=text)
    if kind in ("true", "false", "null") and op != "==":
        raise _invalid(text, f"{match['value']} can only be compared with ==")
    return JsonFilter(path=path, op=op, value=value, kind=kind)


def parse_filters(texts: list[str]) -> list[JsonFilter]:
    if len(texts) > MAX_FILTERS:
        raise Invalid("invalid_filter", f"at most {MAX_FILTERS} filters per query")
    return [parse_filter(text) for text in texts]


def parse_sort(text: str) -> JsonSort:
    """``result.score`` (ascending), ``+result.score`` or ``-result.score`` (descending)."""
    text = text.strip()
    descending = text.startswith("-")
    path = parse_path(text.lstrip("+-"), original=text)
    return JsonSort(path=path, descending=descending)


# --- expressions ------------------------------------------------------------------------------


def filter_condition(
    item: JsonFilter, index: int, column: str = "json"
) -> tuple[dict[str, Any], Q]:
    """The ``alias()`` keywords and the ``Q`` that select rows matching ``item``.

    ``index`` keeps the alias names of several filters apart; they combine with AND.
    """
    if item.kind in ("true", "false", "null"):
        return {}, Q(JsonTypeIs(column, item.path, item.kind))
    name = f"_filter_{index}"
    lookup = OPERATORS[item.op]
    value = (
        json_number(column, item.path) if item.kind == "number" else json_string(column, item.path)
    )
    return {name: value}, Q(**{f"{name}__{lookup}": item.value})


MAX_CONTAINS_CHARS = 10_000


def parse_contains(text: str) -> dict[str, Any]:
    """A ``contains`` document: a JSON object of objects, scalars and arrays of scalars, with no
    all-digit keys (they would read as array indexes on SQLite). 422 ``invalid_contains``."""

    def invalid(reason: str) -> Invalid:
        return Invalid(
            "invalid_contains",
            f"contains must be a JSON object: {reason}",
            details={"contains": text[:500], "reason": reason},
        )

    if len(text) > MAX_CONTAINS_CHARS:
        raise invalid(f"at most {MAX_CONTAINS_CHARS} characters")
    try:
        # orjson refuses NaN, Infinity and numbers that overflow to it (1e400), and lone
        # surrogates: none of them can be compared in the database.
        document = orjson.loads(text)
    except ValueError:
        raise invalid("it is not JSON (finite numbers, no lone surrogates)") from None
    if not isinstance(document, dict):
        raise invalid("it is not an object")
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_PATH_DEPTH:
            raise invalid(f"it is nested deeper than {MAX_PATH_DEPTH}")
        if isinstance(node, dict):
            for key, value in node.items():
                if key.isdigit() or not key:
                    raise invalid(f"the key {key!r} is empty or all digits")
                stack.append((value, depth + 1))
        elif isinstance(node, list) and any(isinstance(item, dict | list) for item in node):
            raise invalid("arrays may only hold numbers, strings, booleans and null")
    return document


def contains_condition(document: dict[str, Any], column: str = "json") -> Q:
    """Rows whose json contains ``document`` (PostgreSQL's ``@>``: every key present with an
    equal value, recursively; an array holds every listed element). PostgreSQL answers it from
    the GIN index; SQLite checks the same conditions with JSON1."""
    if connection.vendor == "postgresql":
        return Q(**{f"{column}__contains": document})
    return _contains_here(document, (), column)


def _contains_here(node: Any, path: tuple[str, ...], column: str) -> Q:
    if isinstance(node, dict):
        condition = Q(JsonTypeIs(column, path, "object")) if path else Q()
        for key, value in node.items():
            condition &= _contains_here(value, (*path, key), column)
        return condition
    if isinstance(node, list):
        condition = Q(JsonTypeIs(column, path, "array"))
        for item in node:
            condition &= Q(JsonArrayHolds(column, path, item))
        return condition
    kind, value = scalar_kind(node)
    if kind in ("true", "false", "null"):
        return Q(JsonTypeIs(column, path, kind))
    target = json_number(column, path) if kind == "number" else json_string(column, path)
    return Q(Exact(target, value))


SORT_FIELDS = ("_sort_kind", "_sort_number", "_sort_string")
SORT_KINDS = (0, 1, 2)  # numbers, strings, anything else (or missing)


def sort_keys(sort: JsonSort, *, float_numbers: bool, column: str = "json") -> dict[str, Any]:
    """Annotations that order results by the value at a path: numbers (numerically), then
    strings (by code point), then results without such a value; no key is ever NULL, so keyset
    pagination over ``(*SORT_FIELDS, id)`` stays exact.

    ``float_numbers`` (SQLite, whose JSON numbers are doubles anyway) keeps the number key a
    float, so the cursor holds it exactly; PostgreSQL keeps ``numeric``.
    """
    number: Any = json_number(column, sort.path)
    zero: Any = Value(Decimal(0))
    number_field: Any = DecimalField()
    if float_numbers:
        number, zero, number_field = Cast(number, FloatField()), Value(0.0), FloatField()
    return {
        "_sort_kind": Case(
            When(JsonTypeIs(column, sort.path, "number"), then=Value(0)),
            When(JsonTypeIs(column, sort.path, "string"), then=Value(1)),
            default=Value(2),
        ),
        "_sort_number": Coalesce(number, zero, output_field=number_field),
        "_sort_string": Coalesce(
            json_string(column, sort.path), Value(""), output_field=TextField()
        ),
    }


# --- result queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultQuery:
    """What ``GET /benchmark-results`` can ask for; every condition combines with AND."""

    benchmark_id: UUID | None = None
    site_id: UUID | None = None
    flavor_id: UUID | None = None
    tags_all: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    execution_after: datetime | None = None
    execution_before: datetime | None = None
    upload_after: datetime | None = None
    upload_before: datetime | None = None
    uploader: str | None = None
    uploader_iss: str | None = None
    uploader_sub: str | None = None
    filters: tuple[str, ...] = ()
    contains: str | None = None
    sort_by: str | None = None
    terms: Sequence[str] = ()


def _tag_ids(names: tuple[str, ...]) -> dict[str, Any]:
    return dict(Tag.objects.filter(name__in=set(names)).values_list("name", "id"))


def filter_results(qs: QuerySet[BenchmarkResult], query: ResultQuery) -> QuerySet[BenchmarkResult]:
    """``qs`` narrowed to ``query`` (parsing its json filters: 422 ``invalid_filter``)."""
    parsed = parse_filters(list(query.filters))
    if query.benchmark_id is not None:
        qs = qs.filter(benchmark_id=query.benchmark_id)
    if query.site_id is not None:
        qs = qs.filter(site_id=query.site_id)
    if query.flavor_id is not None:
        qs = qs.filter(flavor_id=query.flavor_id)
    if query.execution_after is not None:
        qs = qs.filter(execution_datetime__gte=query.execution_after)
    if query.execution_before is not None:
        qs = qs.filter(execution_datetime__lt=query.execution_before)
    if query.upload_after is not None:
        qs = qs.filter(upload_datetime__gte=query.upload_after)
    if query.upload_before is not None:
        qs = qs.filter(upload_datetime__lt=query.upload_before)
    if query.terms:
        qs = qs.filter(result_terms(query.terms))
    if query.uploader is not None:
        qs = qs.filter(uploader__username=query.uploader)
    if (query.uploader_iss is None) != (query.uploader_sub is None):
        raise Invalid("invalid_query", "uploader_iss and uploader_sub go together")
    if query.uploader_iss is not None:
        identity = Identity.objects.filter(
            issuer=query.uploader_iss, subject=query.uploader_sub
        ).first()
        qs = qs.filter(uploader_id=identity.user_id if identity else None).exclude(
            uploader__isnull=True
        )
    through = BenchmarkResult.tags.through
    if query.tags_all:
        ids = _tag_ids(query.tags_all)
        if len(ids) < len(set(query.tags_all)):
            return qs.none()
        for tag_id in ids.values():
            qs = qs.filter(
                Exists(through.objects.filter(benchmarkresult_id=OuterRef("pk"), tag_id=tag_id))
            )
    if query.tags_any:
        ids = _tag_ids(query.tags_any)
        qs = qs.filter(
            Exists(
                through.objects.filter(
                    benchmarkresult_id=OuterRef("pk"), tag_id__in=list(ids.values())
                )
            )
        )
    if query.contains is not None:
        qs = qs.filter(contains_condition(parse_contains(query.contains)))
    for index, item in enumerate(parsed):
        aliases, condition = filter_condition(item, index)
        qs = qs.alias(**aliases).filter(condition)
    return qs


DEFAULT_ORDER = ("-upload_datetime", "-id")

# The named keys of a result's ``sort_by``; any other key is a json path (``json.`` optional).
RESULT_SORTS: dict[str, KeyMaker] = dict(
    [
        named("upload_datetime", F("upload_datetime"), "datetime"),
        named("execution_datetime", F("execution_datetime"), "datetime"),
        named("benchmark_name", CodePoints("benchmark_name"), "text"),
        named("site_name", CodePoints("site_name"), "text"),
        named("flavor_name", CodePoints("flavor_name"), "text"),
    ]
)


def json_sort_key(text: str, descending: bool) -> SortKey:
    """A json path as a sort key: its kind (always numbers, strings, missing), its number and
    its string (``sort_keys``); ``json.a.b`` and ``a.b`` are the same path."""
    path_text = text.removeprefix("json.") if text.startswith("json.") else text
    path = parse_path(path_text, original=text)
    keys = sort_keys(
        JsonSort(path=path, descending=descending),
        float_numbers=connection.vendor == "sqlite",
    )
    number = Column(keys["_sort_number"], "float" if connection.vendor == "sqlite" else "decimal")
    columns = (
        Column(keys["_sort_kind"], "int", fixed=True),
        number,
        Column(keys["_sort_string"], "text"),
    )
    return SortKey(f"json.{'.'.join(path)}", columns, descending, path=path)


def ordered_results(
    qs: QuerySet[BenchmarkResult], *, sort_by: str | None
) -> QuerySet[BenchmarkResult]:
    """All of ``qs`` in the order of ``page_results`` as one query, for streamed exports (a
    page is read kind by kind instead, so that each kind's part is an index seek)."""
    if not sort_by:
        return qs.order_by(*DEFAULT_ORDER)
    sort = parse_sort(sort_by)
    way = "-" if sort.descending else ""
    keys = sort_keys(sort, float_numbers=connection.vendor == "sqlite")
    return qs.annotate(**keys).order_by(
        SORT_FIELDS[0], *(f"{way}{name}" for name in (*SORT_FIELDS[1:], "id"))
    )


def page_results(
    qs: QuerySet[BenchmarkResult], *, sort_by: str | None, cursor: str | None, limit: int
) -> PageResult[BenchmarkResult]:
    """One page of results: newest first, or in the order of ``sort_by``: comma-separated keys
    of ``RESULT_SORTS`` or json paths, each ``+`` (default) or ``-``; a json path orders numbers,
    then strings, then missing values; ties are broken by id (``sorting.page_sorted``).

    A page sorted by a single json path (the common case, with a recommended index) is read one kind at a time (numbers, strings, missing), each in
    (number, string, id) order, starting after the cursor with a row-value comparison: one
    index seek per kind, at any depth, and one index on ``(kind, number, string, id)`` serves
    both directions (docs/benchmarks.md).
    """
    if not sort_by:
        return paginate(qs, order_by=DEFAULT_ORDER, cursor=cursor, limit=limit)
    keys = parse_sort_by(sort_by, RESULT_SORTS, fallback=json_sort_key)
    if len(keys) > 1 or keys[0].path is None:
        return page_sorted(qs, keys, cursor=cursor, limit=limit)
    check_limit(limit)
    sort = JsonSort(path=keys[0].path, descending=keys[0].descending)
    on_sqlite = connection.vendor == "sqlite"
    way = "-" if sort.descending else ""
    qs = qs.annotate(**sort_keys(sort, float_numbers=on_sqlite)).order_by(
        *(f"{way}{name}" for name in (*SORT_FIELDS[1:], "id"))
    )
    first_kind, after = 0, None
    if cursor:
        try:
            kind, number, string, last_id = decode_cursor(cursor, 4)
            first_kind = int(kind)
            key = [
                float(number) if on_sqlite else Decimal(number),
                str(string),
                BenchmarkResult._meta.pk.get_db_prep_value(UUID(last_id), connection),
            ]
        except (ValueError, TypeError, InvalidOperation):
            raise Invalid("invalid_cursor", "the cursor is not one this server issued") from None
        if first_kind not in SORT_KINDS:
            raise Invalid("invalid_cursor", "the cursor is not one this server issued")
        columns = [F(name) for name in (*SORT_FIELDS[1:], "id")]
        after = RowCompare(columns, "<" if sort.descending else ">", key)
    rows: list[BenchmarkResult] = []
    for kind in SORT_KINDS[first_kind:]:
        part = qs.filter(**{SORT_FIELDS[0]: kind})
        if after is not None and kind == first_kind:
            part = part.filter(after)
        rows += list(part[: limit + 1 - len(rows)])
        if len(rows) > limit:
            break
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last: Any = rows[-1]
        next_cursor = encode_cursor(
            [last._sort_kind, str(last._sort_number), last._sort_string, str(last.pk)]
        )
    return PageResult(items=rows, next_cursor=next_cursor)

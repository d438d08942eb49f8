"""What every benchmark list shares: ``sort_by`` (``sorting``), upload-date bounds, paging, and
the search endpoints' refusal of query parameters they do not know."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet
from django.http import HttpRequest
from ninja import Schema

from visionhub.benchmarks.jsonsql import CodePoints
from visionhub.benchmarks.models import ResourceType, Submit
from visionhub.benchmarks.sorting import (
    Column,
    KeyMaker,
    SortKey,
    named,
    page_sorted,
    parse_sort_by,
)
from visionhub.core.errors import Invalid
from visionhub.core.pagination import DEFAULT_LIMIT, PageResult, paginate


class ListParams(Schema):
    """``sort_by`` (comma-separated ``+key``/``-key``), ``upload_after <= upload_datetime <
    upload_before``, and the page."""

    sort_by: str | None = None
    upload_after: datetime | None = None
    upload_before: datetime | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class SearchParams(ListParams):
    """``terms`` (repeated: every one is required) and the list's own parameters."""

    terms: list[str] = []


def _text(name: str, field: str | None = None) -> tuple[str, KeyMaker]:
    return named(name, CodePoints(field or name), "text")


UPLOADED = named("upload_datetime", F("upload_datetime"), "datetime")


def _benchmark_name(text: str, descending: bool) -> SortKey | None:
    if text != "name":
        return None
    columns = (Column(CodePoints("docker_image"), "text"), Column(CodePoints("docker_tag"), "text"))
    return SortKey("name", columns, descending)


BENCHMARK_SORTS: dict[str, KeyMaker] = dict(
    [("name", _benchmark_name), _text("docker_image"), _text("docker_tag"), UPLOADED]
)
SITE_SORTS: dict[str, KeyMaker] = dict([_text("name"), _text("address"), UPLOADED])
FLAVOR_SORTS: dict[str, KeyMaker] = dict(
    [_text("name"), _text("site_name", "site__name"), UPLOADED]
)
TAG_SORTS: dict[str, KeyMaker] = dict([_text("name"), UPLOADED])
CLAIM_SORTS: dict[str, KeyMaker] = dict([UPLOADED, _text("status")])
SUBMIT_SORTS: dict[str, KeyMaker] = dict([UPLOADED, _text("status")])


def listing(
    qs: QuerySet[Any],
    params: ListParams,
    keys: Mapping[str, KeyMaker],
    default_order: Sequence[str],
) -> PageResult[Any]:
    """One page of ``qs`` within the upload bounds, in ``sort_by`` order (or the list's own)."""
    if params.upload_after is not None:
        qs = qs.filter(upload_datetime__gte=params.upload_after)
    if params.upload_before is not None:
        qs = qs.filter(upload_datetime__lt=params.upload_before)
    if params.sort_by:
        sort = parse_sort_by(params.sort_by, keys)
        return page_sorted(qs, sort, cursor=params.cursor, limit=params.limit)
    return paginate(qs, order_by=default_order, cursor=params.cursor, limit=params.limit)


def refuse_unknown_params(request: HttpRequest, schema: type[Schema] | None, *extra: str) -> None:
    """422 ``unknown_parameter`` for a query parameter that neither ``schema`` nor ``extra``
    names: a misspelt filter must not silently widen a search."""
    known = set(extra) | (set(schema.model_fields) if schema is not None else set())
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise Invalid(
            "unknown_parameter",
            f"unknown query parameter(s): {', '.join(name[:50] for name in unknown[:10])}",
            details={"unknown": [name[:50] for name in unknown[:10]], "known": sorted(known)},
        )


def submits_of_type(qs: QuerySet[Submit], resource_type: str) -> QuerySet[Submit]:
    """Submits about a benchmark, site, flavor or claim; 422 ``invalid_resource_type``."""
    if resource_type not in Submit.RESOURCE_FIELDS:
        raise Invalid(
            "invalid_resource_type",
            "resource_type must be one of " + ", ".join(Submit.RESOURCE_FIELDS),
            details={"resource_type": resource_type[:50]},
        )
    return qs.filter(**{f"{ResourceType(resource_type)}__isnull": False})

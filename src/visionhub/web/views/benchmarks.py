"""Benchmark pages: results with the API's filters, a CSV export and a chart across flavors;
benchmarks, sites and flavors with their review status; the review of submissions.

The query string is read by the API's own schema (``ResultQueryIn``) and filtered by
``benchmarks.filters``; reviews call ``benchmarks.services.review_submit``, which also holds
the rule that only administrators decide.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from pydantic import ValidationError

from visionhub.accounts.models import User
from visionhub.benchmarks import access, services
from visionhub.benchmarks.filters import filter_results, ordered_results, page_results, parse_path
from visionhub.benchmarks.models import BenchmarkResult, Status, Tag
from visionhub.benchmarks.schemas import ResultQueryIn
from visionhub.core.errors import ApiError, Conflict, Invalid
from visionhub.web.benchmark_chart import flavor_chart
from visionhub.web.paging import PAGE_SIZE, WebPage, keyset_page, page_url
from visionhub.web.views import signed_in_user

SCALARS = ("benchmark_id", "site_id", "flavor_id", "sort_by", "uploader", "contains")
MAX_COLUMNS = 12
CHOICES = 500
CSV_CHUNK = 1000
# A claim that is approved is upheld; one that is rejected is dismissed.
CLAIM_VERBS: dict[str, str] = {Status.APPROVED: "upheld", Status.REJECTED: "dismissed"}


def _words(values: Iterable[str]) -> list[str]:
    return [word.strip() for value in values for word in value.split(",") if word.strip()]


def _day(raw: str, *, end: bool) -> datetime | None:
    """A date field (``YYYY-MM-DD``, UTC) as a bound: the end of the range includes its day."""
    if not raw.strip():
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid("invalid_date", f"{raw[:40]!r} is not a date (YYYY-MM-DD)") from None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def result_query(params: QueryDict) -> ResultQueryIn:
    """The page's query string read as the API's ``GET /benchmark-results`` reads its own."""
    fields: dict[str, Any] = {k: params[k] for k in SCALARS if params.get(k, "").strip()}
    fields["tags_all"] = _words(params.getlist("tags_all"))
    fields["tags_any"] = _words(params.getlist("tags_any"))
    fields["filters"] = [f for f in params.getlist("filters") if f.strip()]
    fields["execution_after"] = _day(params.get("from", ""), end=False)
    fields["execution_before"] = _day(params.get("to", ""), end=True)
    try:
        return ResultQueryIn(**fields)
    except ValidationError as exc:
        where = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        raise Invalid("invalid_query", f"check the field(s): {where}") from None


def _columns(params: QueryDict) -> list[tuple[str, tuple[str, ...]]]:
    paths = _words(params.getlist("columns"))[:MAX_COLUMNS]
    return [(text, parse_path(text)) for text in paths]


def _filtered(user: User, params: QueryDict) -> tuple[ResultQueryIn, QuerySet[BenchmarkResult]]:
    query = result_query(params)
    conditions = query.to_query()
    access.check_uploader_filter(user, conditions)  # uploaders are private, as in the API
    qs = filter_results(access.visible_results(user), conditions)
    return query, access.with_related(qs)


def value_at(document: Any, path: tuple[str, ...]) -> Any:
    """The json value at ``path`` (digit parts index arrays), or None where there is none."""
    for part in path:
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _choices(user: User) -> dict[str, Any]:
    return {
        "benchmarks": list(
            access.visible_benchmarks(user).order_by("docker_image", "docker_tag")[:CHOICES]
        ),
        "sites": list(access.visible_sites(user).order_by("name", "id")[:CHOICES]),
        "flavors": list(access.visible_flavors(user).order_by("site__name", "name")[:CHOICES]),
        "tags": list(Tag.objects.order_by("name")[:CHOICES]),
    }


def _results_page(
    request: HttpRequest, qs: QuerySet[BenchmarkResult], sort_by: str | None
) -> WebPage[BenchmarkResult]:
    """A page of results in the API's order (``page_results``: newest first, or by a json
    path), with the pager's links; ``?after=`` is the API's cursor."""
    after = request.GET.get("after") or None
    found = page_results(qs, sort_by=sort_by, cursor=after, limit=PAGE_SIZE)
    following = found.next_cursor
    return WebPage(
        items=found.items,
        next_url=page_url(request, after=following, before=None) if following else None,
        previous_url=None,
        first_url=page_url(request, after=None, before=None) if after else None,
    )


@require_GET
def result_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    context: dict[str, Any] = {
        **_choices(user),
        "params": request.GET,
        "filters": [f for f in request.GET.getlist("filters") if f.strip()] or [""],
        "chart": None,
        "error": None,
    }
    try:
        query, qs = _filtered(user, request.GET)
        columns = _columns(request.GET)
        page = _results_page(request, qs, query.sort_by)
        chart_path = request.GET.get("chart", "").strip()
        if chart_path:
            context["chart"] = flavor_chart(qs, chart_path)
    except ApiError as error:
        context["error"] = error
        return render(request, "web/benchmarks/results.html", context, status=error.status)
    context["columns"] = [text for text, _ in columns]
    context["rows"] = [
        (result, [_cell(value_at(result.json, path)) for _, path in columns])
        for result in page.items
    ]
    context["page"] = page
    return render(request, "web/benchmarks/results.html", context)


class _Echo:
    """A file-like ``csv.writer`` target that hands back each line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def _csv_lines(
    results: Iterator[BenchmarkResult], columns: list[tuple[str, tuple[str, ...]]]
) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(
        [
            "id",
            "execution_datetime",
            "benchmark",
            "site",
            "flavor",
            "tags",
            *(c for c, _ in columns),
        ]
    )
    for result in results:
        yield writer.writerow(
            [
                str(result.pk),
                result.execution_datetime.isoformat(),
                result.benchmark.name,
                result.site.name,
                result.flavor.name,
                " ".join(sorted(tag.name for tag in result.tags.all())),
                *(_cell(value_at(result.json, path)) for _, path in columns),
            ]
        )


@require_GET
def result_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every result the filters select, in the table's order, with the chosen json columns,
    streamed in chunks: the export never holds all results in memory."""
    query, qs = _filtered(signed_in_user(request), request.GET)
    columns = _columns(request.GET)
    rows = ordered_results(qs, sort_by=query.sort_by).iterator(chunk_size=CSV_CHUNK)
    response = StreamingHttpResponse(_csv_lines(rows, columns), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="benchmark-results.csv"'
    return response


# --- benchmarks, sites and flavors with their review status -------------------------------------

CATALOG = {
    "benchmarks": ("docker_image", "docker_tag", "id"),
    "sites": ("name", "id"),
    "flavors": ("name", "id"),
}


def _status(raw: str) -> str | None:
    if not raw:
        return None
    if raw not in Status.values:
        raise Invalid("invalid_status", f"status must be one of {', '.join(Status.values)}")
    return raw


@require_GET
def catalog(request: HttpRequest, kind: str = "benchmarks") -> HttpResponse:
    user = signed_in_user(request)
    visible: QuerySet[Any] = {
        "benchmarks": access.visible_benchmarks,
        "sites": access.visible_sites,
        "flavors": access.visible_flavors,
    }[kind](user)
    status = _status(request.GET.get("status", ""))
    if status is not None:
        visible = visible.filter(status=status)
    if kind == "benchmarks":
        visible = visible.defer("json_schema")
    page = keyset_page(request, visible, order_by=CATALOG[kind])
    context = {
        "kind": kind,
        "page": page,
        "status": status or "",
        "statuses": Status.values,
    }
    return render(request, "web/benchmarks/catalog.html", context)


# --- reviews ----------------------------------------------------------------------------------


def _submits(user: User) -> QuerySet[Any]:
    return (
        access.visible_submits(user)
        .select_related(
            "benchmark__uploader",
            "site__uploader",
            "flavor__uploader",
            "flavor__site",
            "claim__uploader",
            "claim__benchmark",
            "claim__site",
            "claim__flavor__site",
            "claim__result__benchmark",
        )
        .defer("benchmark__json_schema", "claim__benchmark__json_schema", "claim__result__json")
    )


@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    """Submissions (new benchmarks, sites, flavors and claims); administrators decide them."""
    user = signed_in_user(request)
    status = _status(request.GET.get("status", Status.ON_REVIEW))
    qs = _submits(user)
    if status is not None:
        qs = qs.filter(status=status)
    page = keyset_page(request, qs, order_by=("-upload_datetime", "-id"))
    context = {
        "page": page,
        "status": status or "",
        "statuses": Status.values,
        "may_decide": user.is_staff,
    }
    return render(request, "web/benchmarks/review.html", context)


@require_POST
def review_decide(request: HttpRequest, submit_id: UUID, decision: str) -> HttpResponse:
    user = signed_in_user(request)
    submit = access.get_submit_for(user, submit_id)
    try:
        decided = services.review_submit(
            submit, user, approve=decision == "approve", message=request.POST.get("message", "")
        )
    except Conflict as error:
        messages.error(request, error.message)
    else:
        kind = decided.resource_type
        verb = (
            CLAIM_VERBS.get(decided.status, decided.status) if kind == "claim" else decided.status
        )
        messages.success(request, f"{kind} {verb}")
    return redirect("web:benchmark-review")

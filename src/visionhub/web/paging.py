"""The one pager of every list page: keyset pages over ``core.pagination``, never OFFSET.

``keyset_page(request, queryset, order_by=...)`` reads ``?after=`` (next pages) or ``?before=``
(previous pages) from the URL and gives the items with the links of the pager; the template
``web/includes/pager.html`` draws them. The other query parameters (a page's filters) are kept
in every link, so a page of a filtered list can be bookmarked and shared.

A previous page is the same keyset query in the opposite order, read backwards: one query per
page in either direction, whatever the page's depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest, QueryDict

from visionhub.core.pagination import cursor_for, paginate

M = TypeVar("M", bound=Model)

PAGE_SIZE = 50


@dataclass(frozen=True)
class WebPage(Generic[M]):
    items: list[M]
    next_url: str | None
    previous_url: str | None
    first_url: str | None

    @property
    def paged(self) -> bool:
        return bool(self.next_url or self.previous_url or self.first_url)


def _flipped(order_by: Sequence[str]) -> list[str]:
    return [f[1:] if f.startswith("-") else f"-{f}" for f in order_by]


def page_url(request: HttpRequest, **changes: Any) -> str:
    """This page's URL with the query parameters ``changes`` (None removes one)."""
    query: QueryDict = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path


def keyset_page(
    request: HttpRequest,
    queryset: QuerySet[M],
    *,
    order_by: Sequence[str] = ("id",),
    limit: int = PAGE_SIZE,
    has_previous: bool = False,
    start_param: str | None = None,
) -> WebPage[M]:
    """One page of ``queryset`` in ``order_by`` (ending in a unique field), with its links.

    ``has_previous`` says that items come before the first page: a page opened at a position
    given by the query parameter ``start_param``, which the links drop (their cursors say where
    they start; the caller must not apply that position to a page that has a cursor).
    A cursor this server did not issue raises ``Invalid`` (the 422 page).
    """
    after = request.GET.get("after") or None
    before = request.GET.get("before") or None
    reset: dict[str, Any] = {"after": None, "before": None}
    if start_param:
        reset[start_param] = None
    if before and not after:
        back = paginate(queryset, order_by=_flipped(order_by), cursor=before, limit=limit)
        items = list(reversed(back.items))
        more_before = back.next_cursor is not None
        more_after = True
    else:
        page = paginate(queryset, order_by=order_by, cursor=after, limit=limit)
        items = page.items
        more_before = bool(after) or has_previous
        more_after = page.next_cursor is not None
    next_url = (
        page_url(request, **{**reset, "after": cursor_for(items[-1], order_by)})
        if items and more_after
        else None
    )
    previous_url = (
        page_url(request, **{**reset, "before": cursor_for(items[0], order_by)})
        if items and more_before
        else None
    )
    first_url = page_url(request, **reset) if (after or before or has_previous) else None
    return WebPage(items=items, next_url=next_url, previous_url=previous_url, first_url=first_url)

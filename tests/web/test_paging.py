"""The one pager of the list pages: keyset links forward and back, filters kept, no OFFSET."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from tests.helpers import unique

from visionhub.accounts import services
from visionhub.accounts.models import User
from visionhub.core.errors import Invalid
from visionhub.web.paging import WebPage, keyset_page

Committed = Callable[[], AbstractContextManager[None]]


def people(committed: Committed, n: int) -> str:
    prefix = unique("p")
    with committed():
        for i in range(n):
            services.create_user(f"{prefix}-{i}")
    return prefix


def names(
    committed: Committed, prefix: str, url: str | None, *, limit: int = 3
) -> tuple[list[str], WebPage[User]]:
    assert url is not None
    parts = urlsplit(url)
    request = RequestFactory().get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
    with committed():
        page = keyset_page(
            request, User.objects.filter(username__startswith=f"{prefix}-"), limit=limit
        )
    return [u.username.removeprefix(f"{prefix}-") for u in page.items], page


def test_it_walks_forward_and_back_keeping_the_filters(committed: Committed) -> None:
    p = people(committed, 8)
    first, page = names(committed, p, "/people/?q=p")
    assert first == ["0", "1", "2"]
    assert page.previous_url is None and page.first_url is None
    assert page.next_url is not None and "q=p" in page.next_url
    second, page = names(committed, p, page.next_url)
    assert second == ["3", "4", "5"]
    third, last = names(committed, p, page.next_url)
    assert third == ["6", "7"]
    assert last.next_url is None
    back, page = names(committed, p, last.previous_url)
    assert back == ["3", "4", "5"]
    start, page = names(committed, p, page.previous_url)
    assert start == ["0", "1", "2"]
    assert page.previous_url is None
    assert page.first_url == "/people/?q=p"


def test_a_deep_page_is_one_query_and_never_an_offset(committed: Committed) -> None:
    p = people(committed, 5)
    _, page = names(committed, p, "/people/", limit=2)
    with committed(), CaptureQueriesContext(connection) as queries:
        names(committed, p, page.next_url, limit=2)
    assert len(queries.captured_queries) == 1
    assert "OFFSET" not in queries.captured_queries[0]["sql"].upper()


def test_a_cursor_this_server_did_not_issue_is_refused(committed: Committed) -> None:
    with pytest.raises(Invalid):
        names(committed, "nobody", "/people/?after=bm90LWEtY3Vyc29y")

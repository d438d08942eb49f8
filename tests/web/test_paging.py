"""The one pager of the list pages: keyset links forward and back, filters kept, no OFFSET."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from visionhub.accounts import services
from visionhub.accounts.models import User
from visionhub.core.errors import Invalid
from visionhub.web.paging import WebPage, keyset_page

pytestmark = pytest.mark.django_db


def names(url: str | None, *, limit: int = 3) -> tuple[list[str], WebPage[User]]:
    assert url is not None
    parts = urlsplit(url)
    request = RequestFactory().get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
    page = keyset_page(request, User.objects.filter(username__startswith="p-"), limit=limit)
    return [u.username for u in page.items], page


def test_it_walks_forward_and_back_keeping_the_filters() -> None:
    for i in range(8):
        services.create_user(f"p-{i}")
    first, page = names("/people/?q=p")
    assert first == ["p-0", "p-1", "p-2"]
    assert page.previous_url is None and page.first_url is None
    assert "q=p" in page.next_url
    second, page = names(page.next_url)
    assert second == ["p-3", "p-4", "p-5"]
    third, last = names(page.next_url)
    assert third == ["p-6", "p-7"]
    assert last.next_url is None
    back, page = names(last.previous_url)
    assert back == ["p-3", "p-4", "p-5"]
    start, page = names(page.previous_url)
    assert start == ["p-0", "p-1", "p-2"]
    assert page.previous_url is None
    assert page.first_url == "/people/?q=p"


def test_a_deep_page_is_one_query_and_never_an_offset() -> None:
    for i in range(5):
        services.create_user(f"p-deep-{i}")
    _, page = names("/people/", limit=2)
    with CaptureQueriesContext(connection) as queries:
        names(page.next_url, limit=2)
    assert len(queries.captured_queries) == 1
    assert "OFFSET" not in queries.captured_queries[0]["sql"].upper()


def test_a_cursor_this_server_did_not_issue_is_refused() -> None:
    with pytest.raises(Invalid):
        names("/people/?after=bm90LWEtY3Vyc29y")

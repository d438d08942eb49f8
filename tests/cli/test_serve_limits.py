"""The HTTP server's request limits are deliberate: a request line or header up to 8 KiB reaches
the API (and gets its envelope); past that, gunicorn answers on its own (docs/scaling.md)."""

from __future__ import annotations

import httpx
import pytest
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error

from visionhub.cli.serve import REQUEST_LINE_LIMIT

pytestmark = pytest.mark.process


def test_a_request_line_of_7_kib_reaches_the_api(server: LiveServer, alice: Person) -> None:
    response = alice.http.get("/datasets", params={"name": "x" * 7000})
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


def test_a_header_of_7_kib_reaches_the_api(server: LiveServer) -> None:
    response = httpx.get(
        f"{server.api}/users/me", headers={"Authorization": "Bearer " + "x" * 7000}
    )
    assert_error(response, 401, "unauthorized")


def test_a_request_line_past_the_limit_is_refused_by_the_server(server: LiveServer) -> None:
    response = httpx.get(f"{server.api}/health?pad={'x' * REQUEST_LINE_LIMIT}")
    assert response.status_code in (400, 414)

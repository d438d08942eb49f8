"""Every error of the API has the same shape: {"error": {code, message, details}}."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.conftest import Person
from tests.helpers import assert_error


@pytest.fixture(scope="module")
def server_settings() -> dict[str, Any]:
    return {"DATA_UPLOAD_MAX_MEMORY_SIZE": 1024 * 1024}


def test_health_needs_no_token(anonymous: httpx.Client) -> None:
    response = anonymous.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]


def test_401_without_a_token(anonymous: httpx.Client) -> None:
    assert_error(anonymous.get("/users/me"), 401, "unauthorized")


def test_404_for_an_unknown_path(alice: Person) -> None:
    assert_error(alice.http.get("/no/such/thing"), 404, "not_found")
    assert_error(alice.server.get(f"{alice.server.url}/api/v2/health"), 404, "not_found")


def test_405_for_a_wrong_method(alice: Person) -> None:
    error = assert_error(alice.http.delete("/health"), 405, "method_not_allowed")
    assert "GET" in error["details"]["allowed"]


def test_422_for_a_body_that_fails_validation(anonymous: httpx.Client) -> None:
    error = assert_error(anonymous.post("/auth/login", json={"username": 3}), 422)
    assert error["details"]["errors"]


def test_413_for_a_body_over_the_limit(anonymous: httpx.Client) -> None:
    big = {"username": "x" * (2 * 1024 * 1024), "password": "y"}
    assert_error(anonymous.post("/auth/login", json=big), 413, "request_too_large")


def test_422_for_a_bad_cursor_or_limit(alice: Person) -> None:
    assert_error(
        alice.http.get("/users/me/tokens", params={"cursor": "!!!"}), 422, "invalid_cursor"
    )
    assert_error(
        alice.http.get("/users/me/tokens", params={"cursor": "WzEsMl0"}), 422, "invalid_cursor"
    )
    wrong_type = "WyJub3QtYW4taWQiXQ"  # ["not-an-id"]
    assert_error(alice.http.get("/users/me/tokens", params={"cursor": wrong_type}), 422)
    assert_error(alice.http.get("/users/me/tokens", params={"limit": 1001}), 422, "invalid_limit")
    assert_error(alice.http.get("/users/me/tokens", params={"limit": 0}), 422, "invalid_limit")
    assert_error(alice.http.get("/users/me/tokens", params={"limit": "ten"}), 422)


def test_lists_are_paginated_with_an_opaque_cursor(alice: Person) -> None:
    for i in range(7):
        assert alice.http.post("/users/me/tokens", json={"name": f"page-{i}"}).status_code == 201
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = alice.http.get("/users/me/tokens", params=params).json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 3
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 8
    assert seen == sorted(seen)
    default = alice.http.get("/users/me/tokens").json()
    assert [t["id"] for t in default["items"]] == seen
    assert default["next_cursor"] is None


def test_openapi_and_docs_are_served(anonymous: httpx.Client) -> None:
    spec = anonymous.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/api/v1/health" in paths
    assert "/api/v1/auth/login" in paths
    assert "/api/v1/users/me" in paths
    docs = anonymous.get("/docs")
    assert docs.status_code == 200
    assert "openapi.json" in docs.text

"""Helpers for tests: unique names, polling with a deadline, the error envelope."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from django.db import connection

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test in this run uses (tests share one database per run)."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def database_url() -> str:
    """The URL of the test database pytest-django created, for processes the tests start."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is an error envelope with ``status`` (and ``code``); return it."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str)
    assert isinstance(error["details"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error  # type: ignore[no-any-return]


# Real data from the original systems, in the shared folder beside the repository.
SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
XRAYS_DIR = SHARED_DATA / "xrays"

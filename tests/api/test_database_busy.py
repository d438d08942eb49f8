"""A database that stays locked past the busy timeout is a retryable 503, not a 500."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from tests.conftest import Person
from tests.helpers import assert_error

pytestmark = pytest.mark.process

HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"VISIONHUB_SQLITE_TIMEOUT": "1"}


@contextmanager
def write_lock_held_elsewhere(path: str) -> Iterator[None]:
    """Hold SQLite's write lock from another process (SQLite's locks are per process, and this
    process's own connection must keep its own)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_write_blocked_past_the_timeout_gets_503_and_succeeds_later(alice: Person) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the write lock held here is SQLite's")
    assert alice.http.get("/users/me").status_code == 200  # records last use before the lock
    with write_lock_held_elsewhere(connection.settings_dict["NAME"]):
        response = alice.http.post("/users/me/tokens", json={"name": "blocked"})
        error = assert_error(response, 503, "database_busy")
        assert response.headers["Retry-After"] == "1"
        assert error["message"]
    assert alice.http.post("/users/me/tokens", json={"name": "after"}).status_code == 201

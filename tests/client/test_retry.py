"""The client retries what is safe to send again, and nothing else (``visionhub.client.retry``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.db import connection
from tests.api.test_database_busy import HOLD_LOCK
from tests.conftest import Person
from tests.helpers import free_port

from visionhub.client import Client, ClientError
from visionhub.client.retry import DEFAULT_POLICY, WORKER_POLICY, RetryPolicy

pytestmark = pytest.mark.process

QUICK = RetryPolicy(attempts=3, first_delay=0.01, cap=0.02)


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"VISIONHUB_SQLITE_TIMEOUT": "1"}


@contextmanager
def counting(client: Client) -> Iterator[list[str]]:
    """The requests ``client`` sends meanwhile, one entry (its method) per attempt."""
    sent: list[str] = []

    def count(request: httpx.Request) -> None:
        sent.append(request.method)

    client.http.event_hooks["request"].append(count)
    try:
        yield sent
    finally:
        client.http.event_hooks["request"].remove(count)


@pytest.fixture
def nowhere() -> Iterator[Client]:
    """A client of a port where nothing listens: every connection is refused."""
    with Client(f"http://127.0.0.1:{free_port()}", "vh_token", retry=QUICK) as client:
        yield client


@pytest.fixture
def hangs_up() -> Iterator[Client]:
    """A client of a server that reads each request and closes the connection unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        with Client(f"http://127.0.0.1:{port}", "vh_token", retry=QUICK) as client:
            yield client
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


def test_a_refused_connection_is_retried_for_any_call(nowhere: Client) -> None:
    with counting(nowhere) as sent, pytest.raises(httpx.ConnectError):
        nowhere.post("/datasets", json={"name": "x"})
    assert sent == ["POST"] * 4  # the first try and three retries


def test_a_lost_answer_is_retried_only_for_an_idempotent_call(hangs_up: Client) -> None:
    with counting(hangs_up) as sent, pytest.raises(httpx.RemoteProtocolError):
        hangs_up.get("/datasets")
    assert sent == ["GET"] * 4
    with counting(hangs_up) as sent, pytest.raises(httpx.RemoteProtocolError):
        hangs_up.post("/datasets", json={"name": "x"})
    assert sent == ["POST"]  # the server may have created it: not sent twice
    with counting(hangs_up) as sent, pytest.raises(httpx.RemoteProtocolError):
        hangs_up.post("/worker/heartbeat", json={"leases": []}, idempotent=True)
    assert sent == ["POST"] * 4


def test_a_body_read_from_an_open_file_is_never_sent_twice(nowhere: Client, tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG")
    with counting(nowhere) as sent, path.open("rb") as fh, pytest.raises(httpx.ConnectError):
        nowhere.post("/datasets/1/images", files={"file": ("image.png", fh, "image/png")})
    assert sent == ["POST"]


def test_an_error_answer_is_not_retried(alice: Person) -> None:
    with counting(alice.client) as sent, pytest.raises(ClientError) as caught:
        alice.client.get("/datasets/999999999")
    assert caught.value.status == 404
    assert sent == ["GET"]


def test_a_write_answered_503_database_busy_is_sent_again_and_succeeds(alice: Person) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the write lock held here is SQLite's")
    alice.client.me()  # records the token's last use before the lock is taken
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, connection.settings_dict["NAME"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    statuses: list[int] = []

    def release_on_503(response: httpx.Response) -> None:
        statuses.append(response.status_code)
        if response.status_code == 503 and holder.stdin is not None and not holder.stdin.closed:
            holder.stdin.close()  # the lock holder rolls back and exits
            holder.wait(timeout=30)

    alice.client.http.event_hooks["response"].append(release_on_503)
    try:
        token = alice.client.post("/users/me/tokens", json={"name": "after-busy"})
    finally:
        alice.client.http.event_hooks["response"].remove(release_on_503)
        if holder.stdin is not None and not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=30)
    assert statuses[0] == 503 and statuses[-1] == 201
    assert token["token"]  # made once, not twice: the 503 rolled the first try back
    names = [t["name"] for t in alice.client.iterate("/users/me/tokens")]
    assert names.count("after-busy") == 1


def test_delays_double_from_a_quarter_second_up_to_the_cap_jittered_down_by_up_to_half() -> None:
    for policy in (DEFAULT_POLICY, WORKER_POLICY):
        for attempt, ceiling in enumerate([0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]):
            for _ in range(20):
                assert ceiling / 2 <= policy.delay(attempt) <= ceiling
    assert DEFAULT_POLICY.attempts == 5
    assert WORKER_POLICY.attempts is None  # the worker retries until it stops

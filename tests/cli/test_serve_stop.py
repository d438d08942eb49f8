"""A stopping server refuses new connections at once and answers what it has accepted: under
load, every request either gets its answer or is refused (a load balancer fails over, a client
retries); none is accepted and then reset or left without an answer."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from tests.conftest import start_server
from tests.helpers import wait_until

pytestmark = pytest.mark.process

CLIENTS = 8


def test_requests_during_a_stop_are_answered_or_refused_never_reset(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    server = start_server(process_env, tmp_path, {"VISIONHUB_WEB_WORKERS": "2"})
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stopped = threading.Event()

    def hammer() -> None:
        while not stopped.is_set():
            try:
                # A new connection per request: what matters is what a new client meets.
                response = httpx.get(f"{server.api}/health", timeout=10)
                outcome = f"answered {response.status_code}"
            except httpx.ConnectError:
                outcome = "refused"
            except httpx.TransportError as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    wait_until(lambda: outcomes["answered 200"] >= 50, timeout=30)
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=30)
    wait_until(lambda: outcomes["refused"] >= 20, timeout=30)
    stopped.set()
    for thread in threads:
        thread.join(15)

    broken = {k: n for k, n in outcomes.items() if k not in ("answered 200", "refused")}
    assert broken == {}, outcomes
    assert "Traceback" not in server.log()

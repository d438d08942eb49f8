"""Long-polls and their ends: a server told to stop (SIGTERM) answers them at once instead of
holding the stop, and a claim whose client hung up takes no work when it wakes.

Without the first, a graceful stop waits for every claim and ``?wait=`` in flight, up to its
own timeout, and then cuts them off: workers see a dropped connection rather than an answer.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import LiveServer, Person, PersonFactory, start_server
from tests.helpers import unique, wait_until
from tests.inference.helpers import deploy, gray_png

from visionhub.inference.models import Worker

pytestmark = pytest.mark.process


def test_a_stopping_server_answers_the_claims_that_wait(
    process_env: dict[str, str],
    alice: Person,
    make_person: PersonFactory,
    committed: Callable[[], AbstractContextManager[None]],
    tmp_path: Path,
) -> None:
    worker: Person = make_person("poller", worker=True)
    idle = deploy(alice)  # a deployment nobody submits to: the claim can only wait
    own = start_server(process_env, tmp_path)
    name = unique("waiting")
    answers: list[Any] = []

    def claim() -> None:
        try:
            response = httpx.post(
                f"{own.api}/worker/claim",
                json={
                    "max": 4,
                    "wait": 50,
                    "deployments": [idle],
                    "worker": {"name": name, "version": "test"},
                },
                headers={"Authorization": f"Bearer {worker.token}"},
                timeout=120,
            )
            answers.append((response.status_code, response.json()))
        except httpx.HTTPError as exc:
            answers.append(exc)

    waiting = threading.Thread(target=claim)
    waiting.start()
    try:

        def registered() -> bool:
            # The claim records its worker before it starts waiting.
            with committed():
                return Worker.objects.filter(name=name).exists()

        wait_until(registered, timeout=30)
    finally:
        own.stop()
    waiting.join(60)
    assert answers == [(200, {"jobs": []})]
    assert own.process is None


def test_a_claim_whose_worker_hung_up_takes_no_work(
    server: LiveServer,
    alice: Person,
    make_person: PersonFactory,
    committed: Callable[[], AbstractContextManager[None]],
) -> None:
    """A worker stopped while idle cuts its long-poll short by closing the connection; work
    that arrives while the server is still waiting for it must go to the next worker, not to
    a lease nobody holds (which would wait for its expiry and count as a failed attempt)."""
    gone: Person = make_person("gone", worker=True)
    next_worker: Person = make_person("next", worker=True)
    name = deploy(alice)
    poller = unique("hung-up")
    body = json.dumps(
        {"max": 4, "wait": 30, "deployments": [name], "worker": {"name": poller, "version": "t"}}
    ).encode()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /api/v1/worker/claim HTTP/1.1\r\nHost: %s\r\n"
            b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (host.encode(), gone.token.encode(), len(body), body)
        )

        def waiting() -> bool:
            with committed():
                return Worker.objects.filter(name=poller).exists()

        wait_until(waiting, timeout=30)
    # Hung up. Now work arrives: the abandoned poll wakes, sees nobody there, and leaves it.
    submitted = alice.http.post(
        "/classifications",
        data={"deployment": name},
        files={"file": ("x.png", gray_png(10), "image/png")},
    ).json()["id"]
    claimed = next_worker.http.post(
        "/worker/claim", json={"max": 4, "wait": 10, "deployments": [name]}
    ).json()["jobs"]
    assert [job["request_id"] for job in claimed] == [submitted]

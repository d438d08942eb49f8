"""A server told to stop (SIGTERM) answers its long-polls at once instead of holding the stop.

Without this, a graceful stop waits for every claim and ``?wait=`` in flight, up to its own
timeout, and then cuts them off: workers see a dropped connection rather than an answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import Person, PersonFactory, start_server
from tests.helpers import unique, wait_until
from tests.inference.helpers import deploy

from visionhub.inference.models import Worker


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

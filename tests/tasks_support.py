"""Running background tasks for real in tests, and a few tasks to test the framework with.

``run_tasks`` (a fixture; import it into an app's ``conftest.py``) runs the queued tasks in
this process with VisionHub's task worker in batch mode until the queue is empty, its writes
committed, so a test can enqueue through the API and then see the outcome. For a worker in a
process of its own, run ``server.cli("tasks", "worker", "--batch")``.

The tasks below live here (not in the product) and are imported by the worker processes that
the tests start, which find this package through ``PYTHONPATH`` (``TASK_TEST_ENV``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django_tasks import task

ROOT = Path(__file__).resolve().parent.parent

# Environment for servers whose task workers run the tasks below, and notice a dead worker
# within a couple of seconds instead of a minute.
TASK_TEST_ENV = {
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    "VISIONHUB_TASK_HEARTBEAT_SECONDS": "0.2",
    "VISIONHUB_TASK_WORKER_TIMEOUT": "2",
}

RunTasks = Callable[..., int]


@pytest.fixture(scope="module")
def run_tasks(committed: Callable[[], AbstractContextManager[None]]) -> RunTasks:
    """``run_tasks(queue="default")`` runs every queued task of that queue; returns how many."""
    from visionhub.tasks.worker import run_worker

    def run(*, queue: str = "default") -> int:
        with committed():
            return run_worker(queue_names=[queue], batch=True, interval=0, handle_signals=False)

    return run


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def fail_with(message: str) -> None:
    raise RuntimeError(message)


@task()
def record_and_wait(directory: str) -> int:
    """Write ``run-N`` (N = this attempt, content = this pid), wait for ``release``."""
    folder = Path(directory)
    attempt = len(list(folder.glob("run-*"))) + 1
    (folder / f"run-{attempt}").write_text(str(os.getpid()))
    while not (folder / "release").exists():
        time.sleep(0.05)
    return attempt


def task_row(task_id: str, committed: Callable[[], AbstractContextManager[None]]) -> Any:
    """The task's database row as it is now."""
    from django_tasks_db.models import DBTaskResult

    with committed():
        return DBTaskResult.objects.get(id=task_id)

"""Background tasks: `visionhub serve` runs a task worker, `visionhub tasks worker` runs more,
a failing task ends failed with its error, and a killed worker loses nothing."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from tests.conftest import LiveServer, start_server
from tests.helpers import unique, wait_until
from tests.tasks_support import (
    TASK_TEST_ENV,
    RunTasks,
    add,
    fail_with,
    record_and_wait,
    task_row,
)

pytestmark = pytest.mark.process

Committed = Callable[[], AbstractContextManager[None]]


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {**TASK_TEST_ENV, "VISIONHUB_TASK_MAX_ATTEMPTS": "2"}


def finished(task_id: str, committed: Committed) -> Callable[[], object]:
    def check() -> object:
        row = task_row(task_id, committed)
        return row if row.status in {"SUCCESSFUL", "FAILED"} else None

    return check


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_runs_queued_tasks(server: LiveServer, committed: Committed) -> None:
    with committed():
        result = add.enqueue(2, 3)
    row = wait_until(finished(result.id, committed), timeout=60)
    assert row.status == "SUCCESSFUL"
    assert row.return_value == 5


def test_a_failing_task_ends_failed_with_its_error(
    server: LiveServer, committed: Committed
) -> None:
    with committed():
        result = fail_with.enqueue("the model file is corrupt")
    row = wait_until(finished(result.id, committed), timeout=60)
    assert row.status == "FAILED"
    assert row.exception_class_path == "builtins.RuntimeError"
    assert "RuntimeError: the model file is corrupt" in row.traceback


def test_a_task_whose_worker_is_killed_runs_again_to_the_end(
    server: LiveServer, committed: Committed, tmp_path: Path
) -> None:
    with committed():
        result = record_and_wait.enqueue(str(tmp_path))
    first = wait_until(lambda: (tmp_path / "run-1").exists() and (tmp_path / "run-1").read_text())
    os.kill(int(first), signal.SIGKILL)

    # The server starts another worker, which finds the task RUNNING with a silent worker.
    second = wait_until(
        lambda: (tmp_path / "run-2").exists() and (tmp_path / "run-2").read_text(), timeout=60
    )
    assert second != first
    (tmp_path / "release").touch()
    row = wait_until(finished(result.id, committed), timeout=60)
    assert row.status == "SUCCESSFUL"
    assert row.return_value == 2
    assert len(row.worker_ids) == 2


def test_a_task_that_keeps_losing_its_worker_ends_failed(
    server: LiveServer, committed: Committed, tmp_path: Path
) -> None:
    with committed():
        result = record_and_wait.enqueue(str(tmp_path))
    for attempt in (1, 2):  # VISIONHUB_TASK_MAX_ATTEMPTS=2
        marker = tmp_path / f"run-{attempt}"
        pid = wait_until(lambda m=marker: m.exists() and m.read_text(), timeout=60)
        os.kill(int(pid), signal.SIGKILL)
    row = wait_until(finished(result.id, committed), timeout=60)
    assert row.status == "FAILED"
    assert row.exception_class_path == "visionhub.tasks.services.WorkerLost"
    assert "stopped responding, 2 times" in row.traceback
    assert not (tmp_path / "run-3").exists()


@pytest.fixture
def quiet_server(
    process_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server that runs no task worker of its own (scale-out: workers run elsewhere)."""
    live = start_server(
        process_env,
        tmp_path_factory.mktemp("quiet"),
        {**TASK_TEST_ENV, "VISIONHUB_SERVE_TASK_WORKERS": "0"},
    )
    yield live
    live.stop()


def test_tasks_worker_runs_tasks_on_its_own(quiet_server: LiveServer, committed: Committed) -> None:
    queue = unique("q")[-30:]
    with committed():
        result = add.using(queue_name=queue).enqueue(20, 22)
    run = quiet_server.cli("tasks", "worker", "--batch", "--queue", queue)
    assert run.returncode == 0
    row = task_row(result.id, committed)
    assert row.status == "SUCCESSFUL"
    assert row.return_value == 42


def test_stopping_the_server_stops_its_task_workers(
    process_env: dict[str, str], tmp_path: Path, committed: Committed
) -> None:
    from visionhub.tasks.models import TaskWorker

    def worker_pids() -> set[int]:
        with committed():
            return set(TaskWorker.objects.values_list("pid", flat=True))

    before = worker_pids()
    live = start_server(
        process_env, tmp_path, {**TASK_TEST_ENV, "VISIONHUB_SERVE_TASK_WORKERS": "2"}
    )
    try:
        mine = wait_until(lambda: (pids := worker_pids() - before) and len(pids) == 2 and pids)
    finally:
        live.stop()
    wait_until(lambda: not any(alive(pid) for pid in mine), timeout=30)
    assert not (worker_pids() & mine)  # they unregistered on the way out


def test_run_tasks_runs_the_queue_in_this_process(
    run_tasks: RunTasks, committed: Committed
) -> None:
    queue = unique("in")[-30:]
    with committed():
        results = [add.using(queue_name=queue).enqueue(n, n) for n in range(3)]
    assert run_tasks(queue=queue) == 3
    assert [task_row(r.id, committed).return_value for r in results] == [0, 2, 4]
    assert run_tasks(queue=queue) == 0

"""The task worker: django-tasks-db's worker loop, with a heartbeat and task recovery.

``run_worker`` is what ``visionhub tasks worker`` (and the worker that ``visionhub serve``
supervises) runs. Beside the library's loop it keeps the worker's ``TaskWorker`` row fresh on
a thread of its own, and each beat also recovers the tasks of workers that went silent
(``services.recover_abandoned``), so a killed worker's task is run again by a live one.
"""

from __future__ import annotations

import logging
import os
import threading

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from visionhub.tasks import services

logger = logging.getLogger(__name__)


class TaskWorkerLoop(Worker):
    """The library's loop, registered as alive for as long as it runs."""

    def __init__(
        self,
        *,
        queue_names: list[str],
        interval: float,
        batch: bool,
        max_tasks: int | None,
        worker_id: str,
        parent_pid: int | None,
    ) -> None:
        super().__init__(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=False,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        self.parent_pid = parent_pid
        self._stopped = threading.Event()

    @property
    def tasks_run(self) -> int:
        return self._run_tasks

    def run(self) -> None:
        services.register_worker(self.worker_id)
        services.recover_abandoned()
        beat = threading.Thread(target=self._beat, name="task-heartbeat", daemon=True)
        beat.start()
        try:
            super().run()
        finally:
            self._stopped.set()
            beat.join(timeout=settings.TASK_HEARTBEAT_SECONDS + 5)
            try:
                services.unregister_worker(self.worker_id)
            except DatabaseError:
                logger.warning("task worker %s: could not unregister", self.worker_id)

    def _beat(self) -> None:
        try:
            while not self._stopped.wait(settings.TASK_HEARTBEAT_SECONDS):
                if self.parent_pid is not None and os.getppid() != self.parent_pid:
                    # The server that started this worker is gone: finish the task in hand
                    # (if any) and exit, as on SIGTERM.
                    logger.warning("task worker %s: parent exited, stopping", self.worker_id)
                    self.running = False
                try:
                    services.heartbeat(self.worker_id)
                    services.recover_abandoned()
                except DatabaseError:
                    # A busy database delays a beat; the timeout is several beats long.
                    logger.warning("task worker %s: heartbeat failed", self.worker_id)
        finally:
            connection.close()


def run_worker(
    *,
    queue_names: list[str] | None = None,
    interval: float = 1.0,
    batch: bool = False,
    max_tasks: int | None = None,
    worker_id: str | None = None,
    parent_pid: int | None = None,
    handle_signals: bool = True,
) -> int:
    """Run tasks until stopped (SIGTERM/SIGINT finish the task in hand first), or with
    ``batch`` until the queue is empty; return how many tasks ran."""
    loop = TaskWorkerLoop(
        queue_names=queue_names or ["default"],
        interval=interval,
        batch=batch,
        max_tasks=max_tasks,
        worker_id=worker_id or get_random_string(32),
        parent_pid=parent_pid,
    )
    if handle_signals:
        loop.configure_signals()
    logger.info("task worker %s: queues %s", loop.worker_id, ",".join(loop.queue_names))
    loop.run()
    return loop.tasks_run

"""Task-worker liveness, and the recovery of tasks whose worker died.

django-tasks-db claims a task by marking it ``RUNNING`` with the worker's id and leaves it so
if that worker is killed. ``recover_abandoned`` is the missing half: every task worker calls
it when it starts and with each heartbeat, and it hands a silent worker's tasks back to the
queue (``READY``), or ends them ``FAILED`` once they have cost ``TASK_MAX_ATTEMPTS`` workers.
A task may therefore run more than once, so every VisionHub task is written to be re-run from
the start (or to resume from what it recorded) with the same outcome.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.signals import task_finished
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from visionhub.tasks.models import TaskWorker

logger = logging.getLogger(__name__)

# What a task that ran out of attempts records as its error.
WORKER_LOST = "visionhub.tasks.services.WorkerLost"


class WorkerLost(Exception):
    """The worker running a task stopped responding (killed, machine lost)."""


@dataclass
class Recovery:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def register_worker(worker_id: str) -> TaskWorker:
    """Record a worker as alive before it claims anything."""
    now = timezone.now()
    worker, _ = TaskWorker.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": now,
            "last_seen": now,
        },
    )
    return worker


def heartbeat(worker_id: str) -> None:
    """Keep a worker's row fresh; re-create it if a recovery pass removed it meanwhile."""
    if not TaskWorker.objects.filter(worker_id=worker_id).update(last_seen=timezone.now()):
        register_worker(worker_id)


def unregister_worker(worker_id: str) -> None:
    """A worker that exits cleanly removes its row (its tasks, if any, become recoverable)."""
    TaskWorker.objects.filter(worker_id=worker_id).delete()


def recover_abandoned(*, now: datetime | None = None) -> Recovery:
    """Re-enqueue (or fail, past the attempt limit) every RUNNING task whose worker is silent.

    A worker is silent when its heartbeat is older than ``TASK_WORKER_TIMEOUT``, or when it has
    no row and started the task longer ago than that (a worker that exited without finishing
    it). Each task is changed with a conditional update, so concurrent recoveries by several
    workers hand a task back once. Failed tasks get ``task_finished`` like any other failure,
    so the apps that own them mark their objects failed.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TASK_WORKER_TIMEOUT)
    recovery = Recovery()
    running = list(DBTaskResult.objects.running().values_list("id", "worker_ids", "started_at"))
    if not running:
        return recovery
    last_ids = {ids[-1] for _, ids, _ in running if ids}
    seen = dict(
        TaskWorker.objects.filter(worker_id__in=last_ids).values_list("worker_id", "last_seen")
    )
    for task_id, worker_ids, started_at in running:
        last = worker_ids[-1] if worker_ids else None
        last_seen = seen.get(last) if last else None
        if last_seen is not None and last_seen >= cutoff:
            continue
        if last_seen is None and started_at is not None and started_at >= cutoff:
            continue
        attempts = len(worker_ids)
        if attempts < settings.TASK_MAX_ATTEMPTS:
            changed = DBTaskResult.objects.filter(
                id=task_id, status="RUNNING", started_at=started_at
            ).update(status="READY", started_at=None)
            if changed:
                recovery.requeued.append(str(task_id))
                logger.warning("task %s: worker %s lost, task queued again", task_id, last)
        else:
            message = (
                f"the worker running this task stopped responding, {attempts} times "
                f"(VISIONHUB_TASK_MAX_ATTEMPTS={settings.TASK_MAX_ATTEMPTS})"
            )
            with transaction.atomic():
                changed = DBTaskResult.objects.filter(
                    id=task_id, status="RUNNING", started_at=started_at
                ).update(
                    status="FAILED",
                    finished_at=now,
                    exception_class_path=WORKER_LOST,
                    traceback=f"{WORKER_LOST}: {message}\n",
                    return_value=None,
                )
            if changed:
                recovery.failed.append(str(task_id))
                logger.error("task %s failed: %s", task_id, message)
                _announce_failure(str(task_id))
    return recovery


def _announce_failure(task_id: str) -> None:
    try:
        result = DBTaskResult.objects.get(id=task_id).task_result
    except Exception:  # the task's code is gone: nobody left to tell
        logger.exception("task %s: cannot load its result to announce the failure", task_id)
        return
    task_finished.send(sender=DatabaseBackend, task_result=result)

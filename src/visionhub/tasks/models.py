"""The task workers that are alive, so that a task whose worker died can be found.

django-tasks-db marks a claimed task ``RUNNING`` with the claiming worker's id and never looks
at it again: a worker killed midway leaves it ``RUNNING`` for ever. Every VisionHub task worker
keeps a ``TaskWorker`` row fresh (``last_seen``); ``services.recover_abandoned`` hands the tasks
of a silent worker to another one.
"""

from __future__ import annotations

from django.db import models


class TaskWorker(models.Model):
    """One running task-worker process (``visionhub tasks worker`` or the one in ``serve``)."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}:{self.pid})"

"""Background work of labeling projects (django-tasks, ``docs/tasks.md``): a project's split
into tasks and its export. Both are enqueued by their service in the transaction that moves
the project to ``initializing`` / ``exporting``, record their progress on the project, and may
run again from the start after a lost worker with the same outcome.

A task that fails, whether it raised or its worker was lost too often, puts the project back
(``waiting`` / ``accepted``) with the error, here in the ``task_finished`` receiver as well as
in the task's own ``except``: a killed worker never reaches the latter.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django_tasks import TaskResultStatus, task
from django_tasks.signals import task_finished

from visionhub.labeling.models import LabelProject, ProjectStatus

log = logging.getLogger(__name__)


@task()
def init_project_task(project_id: int) -> None:
    from visionhub.labeling.services import projects

    projects.run_init_project(project_id)


@task()
def export_project_task(project_id: int, label_set: str, mode: str) -> dict[str, Any]:
    from visionhub.labeling.services import export

    return export.run_export_project(project_id, label_set, mode)


def enqueue_init(project_id: int) -> None:
    init_project_task.enqueue(project_id)


def enqueue_export(project_id: int, label_set: str, mode: str) -> None:
    export_project_task.enqueue(project_id, label_set, mode)


# What a failed task leaves the project as: (status it ran in, status to go back to, what).
_ON_FAILURE = {
    init_project_task.module_path: (
        ProjectStatus.INITIALIZING,
        ProjectStatus.WAITING,
        "initialisation",
    ),
    export_project_task.module_path: (ProjectStatus.EXPORTING, ProjectStatus.ACCEPTED, "export"),
}


@receiver(task_finished)
def _on_task_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    rule = _ON_FAILURE.get(task_result.task.module_path)
    if rule is None or task_result.status != TaskResultStatus.FAILED:
        return
    running, back, what = rule
    errors = getattr(task_result, "errors", None) or []
    reason = errors[-1].exception_class_path if errors else "unknown error"
    project_id = task_result.args[0]
    with transaction.atomic():
        changed = LabelProject.objects.filter(pk=project_id, status=running).update(
            status=back, error=f"{what} failed: {reason}", progress=0.0
        )
    if changed:
        log.error("label project %s: %s failed (%s)", project_id, what, reason)

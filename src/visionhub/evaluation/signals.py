"""An evaluation whose task failed outside its own code (its worker kept dying) is failed."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django_tasks.signals import task_finished

TASK_PATH = "visionhub.evaluation.tasks.run_evaluation"


@receiver(task_finished)
def _on_task_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    if str(task_result.status) != "FAILED" or task_result.task.module_path != TASK_PATH:
        return
    from visionhub.evaluation import services

    errors = task_result.errors
    message = errors[-1].traceback.strip().splitlines()[-1] if errors else "the task failed"
    services.mark_failed_by_task(str(task_result.id), message)

"""The background task that runs an evaluation (docs/tasks.md)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_evaluation(evaluation_id: int) -> None:
    from visionhub.evaluation import services

    services.execute(evaluation_id)

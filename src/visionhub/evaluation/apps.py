from __future__ import annotations

from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "visionhub.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation"

    def ready(self) -> None:
        from visionhub.evaluation import signals  # noqa: F401 - connects the task listeners

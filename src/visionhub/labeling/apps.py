from __future__ import annotations

from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "visionhub.labeling"
    label = "labeling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receiver that records failed background tasks on their project.
        from visionhub.labeling import tasks  # noqa: F401

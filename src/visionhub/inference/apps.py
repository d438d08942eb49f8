from __future__ import annotations

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "visionhub.inference"
    label = "inference"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from visionhub.inference import receivers  # noqa: F401 (connects the signal receivers)

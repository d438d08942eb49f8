from __future__ import annotations

from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "visionhub.tasks"
    label = "tasks"
    verbose_name = "Background tasks"

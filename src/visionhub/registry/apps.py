from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "visionhub.registry"
    label = "registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Datasets name the model they train (seed 003) without importing the registry.
        from visionhub.datasets import links
        from visionhub.registry import access

        links.register_model_resolver(access.get_definition_for)

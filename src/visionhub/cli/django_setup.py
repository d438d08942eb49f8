"""Lazy Django start-up for the server-side verbs (client verbs never import Django)."""

from __future__ import annotations

import os


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionhub.settings")
    import django

    django.setup()


def run_migrations(*, verbosity: int = 1) -> None:
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)

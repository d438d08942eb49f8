"""Trainings: a task with a state machine, monotonic progress and merged details (metrics)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid
from visionhub.core.slugs import validate_slug
from visionhub.registry.models import BuildVersion, Project, Training, TrainingState

S = TrainingState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.WAITING: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.RUNNING: frozenset({S.FINISHED, S.FAILED, S.CANCELLED}),
    S.FINISHED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)


def _clean_details(details: Any) -> dict[str, Any]:
    if not isinstance(details, dict):
        raise Invalid("invalid_details", "details must be a JSON object")
    return details


def create_training(
    owner: User,
    *,
    name: str = "",
    project: Project | None = None,
    build_version: BuildVersion | None = None,
    notebook: str = "",
    details: Mapping[str, Any] | None = None,
) -> Training:
    """A new training, ``WAITING`` at progress 0. A name, if given, is a slug like every other
    name (422 ``invalid_name``); a training may stay unnamed (it is known by its id)."""
    if name:
        validate_slug(name)
    if build_version is not None and project is not None and build_version.project_id != project.pk:
        raise Invalid("build_version_mismatch", "the build version belongs to another project")
    if build_version is not None and project is None:
        project = build_version.project
    return Training.objects.create(
        owner=owner,
        name=name,
        project=project,
        build_version=build_version,
        notebook=notebook,
        details=_clean_details(dict(details or {})),
    )


def update_training(
    training: Training,
    *,
    state: str | None = None,
    progress: float | None = None,
    details: Mapping[str, Any] | None = None,
) -> Training:
    """Move a training along: only legal transitions, progress in [0, 1] never going back.

    Legal: WAITING → RUNNING, CANCELLED or FAILED; RUNNING → FINISHED, FAILED or CANCELLED;
    FINISHED, FAILED and CANCELLED are final (``illegal_transition``, 409). Asking for the
    current state again changes nothing. Progress reported while WAITING starts the training.
    FINISHED sets progress to 1. ``details`` are merged key by key into the current ones.
    ``start_time`` is set when it starts running, ``update_time`` on every change.
    """
    with transaction.atomic():
        # Reports from a training script may race each other: read-modify-write under a lock.
        locked = Training.objects.select_for_update().get(pk=training.pk)
        now = timezone.now()
        target = locked.state
        if state is not None:
            if state not in TRANSITIONS:
                raise Invalid("invalid_state", f"state must be one of {', '.join(TRANSITIONS)}")
            target = state
        elif progress is not None and locked.state == S.WAITING and progress > locked.progress:
            target = S.RUNNING
        if target != locked.state and target not in TRANSITIONS[locked.state]:
            raise Conflict(
                "illegal_transition",
                f"a training cannot go from {locked.state} to {target}",
                details={"from": locked.state, "to": target},
            )
        if progress is not None:
            _check_progress(locked, progress)
            locked.progress = progress
        if target != locked.state:
            locked.state = target
            if target == S.RUNNING:
                locked.start_time = now
            if target == S.FINISHED:
                locked.progress = 1.0
        if details is not None:
            locked.details = {**locked.details, **_clean_details(dict(details))}
        locked.update_time = now
        locked.save()
    return locked


def _check_progress(training: Training, progress: float) -> None:
    if isinstance(progress, bool) or not math.isfinite(progress) or not 0.0 <= progress <= 1.0:
        raise Invalid("invalid_progress", "progress must be a number between 0 and 1")
    if progress < training.progress:
        raise Invalid(
            "progress_backwards",
            f"progress cannot go back from {training.progress} to {progress}",
            details={"current": training.progress, "requested": progress},
        )
    if training.state in TERMINAL and progress != training.progress:
        raise Conflict(
            "training_ended",
            f"the training is {training.state}; its progress is final",
            details={"state": training.state},
        )


def delete_training(training: Training) -> None:
    """Delete a training; versions made by it keep their snapshot of it."""
    training.delete()

"""Deployments: named routes to a model version, their rollouts and history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid
from visionhub.core.slugs import validate_slug
from visionhub.registry.lineage import version_ref
from visionhub.registry.models import (
    Deployment,
    DeploymentRevision,
    ModelVersion,
    Project,
)

MAX_REPLICATION = 100


def _check_replication(replication: int, quorum: int) -> None:
    if not 1 <= replication <= MAX_REPLICATION:
        raise Invalid("invalid_replication", f"replication must be between 1 and {MAX_REPLICATION}")
    if not 1 <= quorum <= replication:
        raise Invalid(
            "invalid_quorum",
            "quorum must be at least 1 and at most the replication",
            details={"replication": replication, "quorum": quorum},
        )


def _check_matching(match_iou: float, score_tolerance: float) -> None:
    if not 0 < match_iou <= 1:
        raise Invalid("invalid_match_iou", "match_iou must be above 0 and at most 1")
    if not 0 <= score_tolerance <= 1:
        raise Invalid("invalid_score_tolerance", "score_tolerance must be from 0 to 1")


def _revision(deployment: Deployment, by: User | None) -> DeploymentRevision:
    return DeploymentRevision.objects.create(
        deployment=deployment,
        model_version=deployment.model_version,
        model_ref=version_ref(deployment.model_version),
        replication=deployment.replication,
        quorum=deployment.quorum,
        changed_by=by,
    )


def create_deployment(
    owner: User,
    *,
    name: str,
    model_version: ModelVersion,
    replication: int = 1,
    quorum: int = 1,
    details: Mapping[str, Any] | None = None,
    project: Project | None = None,
    match_iou: float = 0.9,
    score_tolerance: float = 0.05,
) -> Deployment:
    """A new deployment serving ``model_version``; names are unique server-wide.

    Raises ``invalid_quorum`` / ``invalid_replication`` / ``invalid_match_iou`` /
    ``invalid_score_tolerance`` (422), ``deployment_exists`` (409). The first entry of its
    history is written with it. ``match_iou`` and ``score_tolerance`` say when two detection
    answers agree (quorum by geometry).
    """
    validate_slug(name)
    _check_replication(replication, quorum)
    _check_matching(match_iou, score_tolerance)
    if details is not None and not isinstance(details, dict):
        raise Invalid("invalid_details", "details must be a JSON object")
    try:
        with transaction.atomic():
            deployment = Deployment.objects.create(
                name=name,
                owner=owner,
                model_version=model_version,
                replication=replication,
                quorum=quorum,
                match_iou=match_iou,
                score_tolerance=score_tolerance,
                details=dict(details or {}),
                project=project,
            )
            _revision(deployment, owner)
    except IntegrityError:
        raise Conflict("deployment_exists", f"a deployment called {name!r} exists") from None
    return deployment


def update_deployment(
    deployment: Deployment,
    *,
    by: User,
    model_version: ModelVersion | None = None,
    replication: int | None = None,
    quorum: int | None = None,
    is_active: bool | None = None,
    details: Mapping[str, Any] | None = None,
    match_iou: float | None = None,
    score_tolerance: float | None = None,
) -> Deployment:
    """Change a deployment. A new version (a rollout) or new replication or quorum is written
    to its history with who did it; requests already routed keep the version they were given.
    """
    with transaction.atomic():
        locked = (
            Deployment.objects.select_for_update()
            .select_related("model_version__definition")
            .get(pk=deployment.pk)
        )
        before = (locked.model_version_id, locked.replication, locked.quorum)
        if model_version is not None:
            locked.model_version = model_version
        if replication is not None:
            locked.replication = replication
        if quorum is not None:
            locked.quorum = quorum
        _check_replication(locked.replication, locked.quorum)
        if match_iou is not None:
            locked.match_iou = match_iou
        if score_tolerance is not None:
            locked.score_tolerance = score_tolerance
        _check_matching(locked.match_iou, locked.score_tolerance)
        if is_active is not None:
            locked.is_active = is_active
        if details is not None:
            if not isinstance(details, dict):
                raise Invalid("invalid_details", "details must be a JSON object")
            locked.details = dict(details)
        locked.save()
        if (locked.model_version_id, locked.replication, locked.quorum) != before:
            _revision(locked, by)
    return locked


def delete_deployment(deployment: Deployment) -> None:
    """Delete a deployment (refused with ``deployment_in_use`` while something needs it)."""
    try:
        with transaction.atomic():
            deployment.delete()
    except ProtectedError:
        raise Conflict(
            "deployment_in_use", "requests still refer to this deployment; deactivate it instead"
        ) from None

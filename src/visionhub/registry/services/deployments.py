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
    BuildVersion,
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


MAX_NOTEBOOK = 500
UNCHANGED: Any = object()  # ``update_deployment``'s default for fields that may be cleared


def _project_and_build(
    project: Project | None, build_version: BuildVersion | None
) -> tuple[Project | None, BuildVersion | None]:
    """A build version belongs to the deployment's project (seed 003's ``bvers`` of ``proj``):
    422 ``build_version_mismatch`` otherwise; a build version alone brings its project."""
    if build_version is None:
        return project, None
    if project is None:
        return build_version.project, build_version
    if build_version.project_id != project.pk:
        raise Invalid("build_version_mismatch", "the build version belongs to another project")
    return project, build_version


def _notebook(notebook: str) -> str:
    """A relative path inside the project's repository (seed 003): no leading ``/``, no
    ``..`` part, at most 500 characters; 422 ``invalid_notebook``."""
    notebook = notebook.strip()
    parts = notebook.replace("\\", "/").split("/")
    if len(notebook) > MAX_NOTEBOOK or notebook.startswith("/") or ".." in parts:
        raise Invalid(
            "invalid_notebook",
            "notebook is a relative path inside the project's repository",
            details={"notebook": notebook[:200]},
        )
    return notebook


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
    build_version: BuildVersion | None = None,
    notebook: str = "",
) -> Deployment:
    """A new deployment serving ``model_version``; names are unique server-wide.

    Raises ``invalid_quorum`` / ``invalid_replication`` / ``invalid_match_iou`` /
    ``invalid_score_tolerance`` (422), ``deployment_exists`` (409). The first entry of its
    history is written with it. ``match_iou`` and ``score_tolerance`` say when two detection
    answers agree (quorum by geometry). ``build_version`` must belong to ``project``
    (``_project_and_build``); ``notebook`` is a relative path (``_notebook``).
    """
    validate_slug(name)
    project, build_version = _project_and_build(project, build_version)
    notebook = _notebook(notebook)
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
                build_version=build_version,
                notebook=notebook,
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
    project: Project | None = UNCHANGED,
    build_version: BuildVersion | None = UNCHANGED,
    notebook: str | None = None,
) -> Deployment:
    """Change a deployment. A new version (a rollout) or new replication or quorum is written
    to its history with who did it; requests already routed keep the version they were given.
    ``project`` and ``build_version`` may be cleared with ``None``; a new project drops a build
    version of another project, and a build version must belong to the (new) project.
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
        if project is not UNCHANGED:
            locked.project = project
            current = locked.build_version
            stale = current is not None and (project is None or current.project_id != project.pk)
            if build_version is UNCHANGED and stale:
                locked.build_version = None
        if build_version is not UNCHANGED:
            locked.project, locked.build_version = _project_and_build(locked.project, build_version)
        if notebook is not None:
            locked.notebook = _notebook(notebook)
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

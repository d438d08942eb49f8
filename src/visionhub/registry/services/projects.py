"""Projects (seed 003) and the build versions of their Docker images."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid
from visionhub.core.slugs import validate_slug
from visionhub.registry.models import BuildSource, BuildVersion, ModelDefinition, Project

_TEXT_FIELDS = ("description", "home_dir", "git_repo", "docker_repo")


def create_project(
    owner: User,
    *,
    name: str,
    models: Iterable[ModelDefinition] = (),
    **fields: str,
) -> Project:
    """A new project; ``fields`` are ``description, home_dir, git_repo, docker_repo``."""
    validate_slug(name)
    unknown = set(fields) - set(_TEXT_FIELDS)
    if unknown:
        raise Invalid("invalid_field", f"unknown project fields: {', '.join(sorted(unknown))}")
    try:
        with transaction.atomic():
            project = Project.objects.create(owner=owner, name=name, **fields)
            project.model_definitions.set(list(models))
    except IntegrityError:
        raise Conflict("project_exists", f"you already have a project called {name!r}") from None
    return project


def update_project(
    project: Project,
    changes: Mapping[str, Any],
    *,
    models: Iterable[ModelDefinition] | None = None,
) -> Project:
    """Edit everything but the name; ``models`` (if given) replaces the list of models."""
    if "name" in changes and changes["name"] not in (None, project.name):
        raise Invalid("name_not_editable", "a project's name cannot be changed")
    with transaction.atomic():
        for key in _TEXT_FIELDS:
            if changes.get(key) is not None:
                setattr(project, key, str(changes[key]))
        project.save()
        if models is not None:
            project.model_definitions.set(list(models))
    return project


def delete_project(project: Project) -> None:
    """Delete a project and its build versions; trainings and deployments keep existing."""
    project.delete()


def create_build_version(
    project: Project,
    *,
    tag: str,
    built_from: str,
    docker_id: str = "",
    git_version: str = "",
    built_at: datetime | None = None,
) -> BuildVersion:
    """Record a build of ``project``'s image; ``tag`` is unique per project."""
    if not tag or len(tag) > 128:
        raise Invalid("invalid_tag", "tag must be 1-128 characters")
    if built_from not in BuildSource.values:
        raise Invalid(
            "invalid_built_from", f"built_from must be one of {', '.join(BuildSource.values)}"
        )
    if built_at is not None and timezone.is_naive(built_at):
        raise Invalid("invalid_built_at", "built_at needs a time zone")
    try:
        with transaction.atomic():
            return BuildVersion.objects.create(
                project=project,
                tag=tag,
                built_from=built_from,
                docker_id=docker_id,
                git_version=git_version,
                built_at=built_at or timezone.now(),
            )
    except IntegrityError:
        raise Conflict("build_version_exists", f"project has a build {tag!r} already") from None

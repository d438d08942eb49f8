"""The list filters of the benchmarks API, out of the handlers: what a list shows, by name."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from visionhub.accounts.models import User
from visionhub.benchmarks import access
from visionhub.benchmarks.listing import submits_of_type
from visionhub.benchmarks.models import Tag


def _status(qs: QuerySet[Any], status: str | None) -> QuerySet[Any]:
    return qs if status is None else qs.filter(status=status)


def _equal(qs: QuerySet[Any], **values: Any) -> QuerySet[Any]:
    """``qs`` narrowed to the given values (those that are None filter nothing)."""
    return qs.filter(**{k: v for k, v in values.items() if v is not None})


def benchmarks(
    user: User,
    *,
    docker_image: str | None = None,
    docker_tag: str | None = None,
    status: str | None = None,
) -> QuerySet[Any]:
    """The benchmarks ``user`` may see, by image, tag and review status."""
    qs = _status(access.visible_benchmarks(user), status)
    return _equal(qs, docker_image=docker_image, docker_tag=docker_tag)


def sites(
    user: User, *, name: str | None = None, address: str | None = None, status: str | None = None
) -> QuerySet[Any]:
    """The sites ``user`` may see, by name, address and review status."""
    return _equal(_status(access.visible_sites(user), status), name=name, address=address)


def flavors(
    user: User, *, site_id: UUID | None = None, name: str | None = None, status: str | None = None
) -> QuerySet[Any]:
    """The flavors ``user`` may see, by site, name and review status."""
    return _equal(_status(access.visible_flavors(user), status), site_id=site_id, name=name)


def tags(*, name: str | None = None) -> QuerySet[Tag]:
    """Every tag (tags are public), or the one called ``name``."""
    return Tag.objects.all() if name is None else Tag.objects.filter(name=name)


def claims(user: User, *, status: str | None = None) -> QuerySet[Any]:
    """The claims ``user`` may see, by status."""
    return _status(access.visible_claims(user), status)


def submits(
    user: User, *, status: str | None = None, resource_type: str | None = None
) -> QuerySet[Any]:
    """The submits ``user`` may see, by status and kind of resource."""
    qs = _status(access.visible_submits(user), status)
    return qs if resource_type is None else submits_of_type(qs, resource_type)

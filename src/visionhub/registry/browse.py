"""The list filters of the registry API, out of the handlers: what a list shows, by name."""

from __future__ import annotations

from django.db.models import QuerySet

from visionhub.accounts.models import User
from visionhub.registry import access
from visionhub.registry.models import Training


def trainings(user: User, *, state: str | None = None) -> QuerySet[Training]:
    """The trainings ``user`` may see, in ``state`` (any case: WAITING, running…) if given."""
    qs = access.visible_trainings(user).select_related("owner", "project", "build_version")
    return qs.filter(state=state.upper()) if state else qs

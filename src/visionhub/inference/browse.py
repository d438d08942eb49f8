"""The list filters of the inference API, out of the handlers: what a list shows, by name."""

from __future__ import annotations

from django.db.models import QuerySet

from visionhub.accounts.models import User
from visionhub.inference import services
from visionhub.inference.access import visible_classifications
from visionhub.inference.models import ClassificationRequest


def classifications(
    user: User,
    *,
    deployment: str | None = None,
    status: str | None = None,
    submitter: str | None = None,
) -> QuerySet[ClassificationRequest]:
    """The requests ``user`` may see (staff: everyone's), of the deployment called
    ``deployment``, in ``status``, submitted by ``submitter`` (``me`` for one's own); newest
    first (paginate with ``-id``)."""
    qs = services.list_classifications(visible_classifications(user), status=status)
    if deployment is not None:
        qs = qs.filter(deployment__name=deployment)
    if submitter == "me":
        qs = qs.filter(submitter=user)
    elif submitter is not None:
        qs = qs.filter(submitter__username=submitter)
    return qs

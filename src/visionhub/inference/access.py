"""Who may see a classification request, and who may act as a worker.

A request belongs to its submitter: they (and staff) read and cancel it; anyone else is told it
does not exist (404, as for a missing one). Submitting needs read access to the deployment
(``registry.access.get_deployment_for``) and to a dataset image (``datasets.access``).
Claiming work and answering it needs the worker permission (``User.is_worker``).
"""

from __future__ import annotations

from django.db.models import QuerySet

from visionhub.accounts.models import User
from visionhub.core.errors import Forbidden, NotFound
from visionhub.inference.models import ClassificationRequest, Run


def visible_classifications(user: User) -> QuerySet[ClassificationRequest]:
    """The requests ``user`` may read: their own, or all of them for staff."""
    if user.is_staff:
        return ClassificationRequest.objects.all()
    return ClassificationRequest.objects.filter(submitter=user)


def get_classification_for(user: User, request_id: int) -> ClassificationRequest:
    """The request ``request_id`` if ``user`` submitted it (or is staff), else 404."""
    found = ClassificationRequest.objects.select_related("deployment").filter(pk=request_id).first()
    if found is None:
        raise NotFound("classification_not_found", "no such classification")
    if not (user.is_staff or found.submitter_id == user.pk):
        raise NotFound("classification_not_found", "no such classification")
    return found


def get_run_for(user: User, deployment_name: str, run_id: int) -> Run:
    """The run ``run_id`` of the deployment ``deployment_name`` if ``user`` started it (or is
    staff), else 404 ``run_not_found``."""
    found = (
        Run.objects.select_related("deployment", "dataset", "label_set")
        .filter(pk=run_id, deployment__name=deployment_name)
        .first()
    )
    if found is None:
        raise NotFound("run_not_found", "no such run")
    if not (user.is_staff or found.submitter_id == user.pk):
        raise NotFound("run_not_found", "no such run")
    return found


def require_worker(user: User) -> User:
    """``user`` if they hold the worker permission, else 403 ``not_a_worker``."""
    if not user.is_worker:
        raise Forbidden("not_a_worker", "this account may not claim classification work")
    return user

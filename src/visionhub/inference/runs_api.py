"""HTTP API of runs over a dataset: ``/deployments/{name}/runs`` (mounted by ``api.py``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from visionhub.accounts.auth import current_user
from visionhub.accounts.models import User
from visionhub.datasets.access import get_dataset_by_name_for, get_dataset_for
from visionhub.datasets.models import Dataset
from visionhub.datasets.services.images import ImageFilter
from visionhub.inference import runs
from visionhub.inference.access import get_run_for
from visionhub.inference.models import Run
from visionhub.inference.schemas import RunIn, RunOut
from visionhub.inference.services import check_priority
from visionhub.registry.access import get_deployment_for

router = Router(tags=["runs"])


def _writable_dataset(user: User, ref: int | str) -> Dataset:
    if isinstance(ref, int) or ref.isdigit():
        return get_dataset_for(user, int(ref), write=True)
    return get_dataset_for(user, get_dataset_by_name_for(user, ref).pk, write=True)


def _out(run: Run) -> dict[str, Any]:
    done = runs.progress(run)
    return {
        "id": run.pk,
        "deployment": run.deployment.name,
        "dataset": run.dataset_id,
        "label_set": run.label_set.name,
        "label_set_id": run.label_set_id,
        "status": runs.run_state(run, done),
        "filters": run.filters,
        "queued": run.queued,
        "skipped": run.skipped,
        "done": done.done,
        "failed": done.failed,
        "cancelled": done.cancelled,
        "pending": done.pending,
        "annotations": run.annotations,
        "write_errors": run.write_errors,
        "created_at": run.created_at,
    }


@router.post("/deployments/{name}/runs", response={202: RunOut})
def create_run(request: HttpRequest, name: str, body: RunIn) -> Status[dict[str, Any]]:
    """Queue every image of ``dataset`` (matching ``filters``) and write the answers into the
    Pred label set ``label_set`` (created if missing); images already predicted into it are
    skipped. Needs read access to the deployment and write access to the dataset."""
    user = current_user(request)
    deployment = get_deployment_for(user, name)
    dataset = _writable_dataset(user, body.dataset)
    filters = ImageFilter(**body.filters.model_dump()) if body.filters else None
    run = runs.create_run(
        deployment,
        dataset,
        body.label_set,
        by=user,
        filters=filters,
        priority=check_priority(body.priority, user),
    )
    return Status(202, _out(Run.objects.select_related("deployment", "label_set").get(pk=run.pk)))


@router.get("/deployments/{name}/runs/{int:run_id}", response=RunOut)
def get_run(request: HttpRequest, name: str, run_id: int) -> dict[str, Any]:
    """A run's progress: requests done, failed, cancelled and pending, annotations written."""
    return _out(get_run_for(current_user(request), name, run_id))


@router.post("/deployments/{name}/runs/{int:run_id}/cancel", response=RunOut)
def cancel_run(request: HttpRequest, name: str, run_id: int) -> dict[str, Any]:
    """Cancel what the run has not done yet (what it wrote stays)."""
    return _out(runs.cancel_run(get_run_for(current_user(request), name, run_id)))

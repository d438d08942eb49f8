"""HTTP API of classification requests (clients); the worker protocol is in ``worker_api.py``.

``POST /classifications`` and ``POST /deployments/{name}/predict`` take either a multipart
upload (``file``, plus the ``deployment`` form field for the former) or a JSON body naming a
dataset image, so they read the body themselves.
"""

from __future__ import annotations

from typing import Any, BinaryIO, TypeVar, cast

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import BaseModel, ValidationError

from visionhub.accounts.auth import current_user
from visionhub.accounts.models import User
from visionhub.core.errors import Invalid
from visionhub.core.pagination import Page, PageResult, paginate
from visionhub.datasets.access import get_dataset_by_name_for, get_dataset_for, get_image_for
from visionhub.datasets.models import Dataset
from visionhub.inference import browse, services
from visionhub.inference.access import get_classification_for
from visionhub.inference.models import ClassificationRequest
from visionhub.inference.runs_api import router as runs_router
from visionhub.inference.schemas import (
    AcceptedOut,
    BatchIn,
    BatchOut,
    ClassificationOut,
    ClassifyImageIn,
    LabelSetOut,
    PredictImageIn,
    SaveLabelSetIn,
    StatsOut,
)
from visionhub.inference.worker_api import router as worker_router
from visionhub.registry.access import get_deployment_for
from visionhub.registry.models import Deployment

router = Router(tags=["classifications"])
router.add_router("", worker_router)
router.add_router("", runs_router)

S = TypeVar("S", bound=BaseModel)

_UPLOAD_OR_JSON = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "deployment": {"type": "string"},
                        "priority": {"type": "integer"},
                    },
                    "required": ["file"],
                }
            },
            "application/json": {"schema": {"$ref": "#/components/schemas/ClassifyImageIn"}},
        }
    }
}


def _json_body(schema: type[S], request: HttpRequest) -> S:
    try:
        return schema.model_validate_json(request.body or b"{}")
    except ValidationError as exc:
        errors = [
            {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise Invalid(
            "validation_error", "the request is not valid", details={"errors": errors}
        ) from None


def _is_upload(request: HttpRequest) -> bool:
    return request.content_type == "multipart/form-data"


def _form_int(request: HttpRequest, name: str, default: int = 0) -> int:
    raw = request.POST.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise Invalid(f"invalid_{name}", f"{name} must be an integer") from None


def _submit(
    request: HttpRequest, user: User, deployment: Deployment | None
) -> ClassificationRequest:
    """One submission from an upload or a JSON body; ``deployment`` given by the path."""
    if _is_upload(request):
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid("missing_file", "send the image as the multipart field 'file'")
        if deployment is None:
            deployment = get_deployment_for(user, request.POST.get("deployment", ""))
        priority = services.check_priority(_form_int(request, "priority"), user)
        source = cast(BinaryIO, upload)
        return services.submit_upload(
            deployment, source, by=user, size=upload.size, priority=priority
        )
    body: ClassifyImageIn | PredictImageIn
    if deployment is None:
        body = _json_body(ClassifyImageIn, request)
        deployment = get_deployment_for(user, body.deployment)
    else:
        body = _json_body(PredictImageIn, request)
    image = get_image_for(user, body.image_id)
    priority = services.check_priority(body.priority, user)
    return services.submit_dataset_image(deployment, image, by=user, priority=priority)


@router.post("/classifications", response={202: AcceptedOut}, openapi_extra=_UPLOAD_OR_JSON)
def submit(request: HttpRequest) -> Status[AcceptedOut]:
    """Queue one image: a multipart upload (``file``, ``deployment``) or JSON
    ``{deployment, image_id}`` for a dataset image."""
    created = _submit(request, current_user(request), None)
    return Status(202, AcceptedOut(id=created.pk, status=created.status))


@router.post("/classifications/batch", response={202: BatchOut})
def submit_batch(request: HttpRequest, body: BatchIn) -> Status[BatchOut]:
    """Queue many dataset images in one call (all or nothing)."""
    user = current_user(request)
    deployment = get_deployment_for(user, body.deployment)
    priority = services.check_priority(body.priority, user)
    ids = services.submit_batch(deployment, body.image_ids, by=user, priority=priority)
    return Status(202, BatchOut(ids=ids))


@router.get("/classifications", response=Page[ClassificationOut])
def list_classifications(
    request: HttpRequest,
    deployment: str | None = None,
    status: str | None = None,
    submitter: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[ClassificationRequest]:
    """The caller's requests (staff: everyone's; ``submitter=me`` for one's own), newest first."""
    qs = browse.classifications(
        current_user(request), deployment=deployment, status=status, submitter=submitter
    )
    return paginate(qs, order_by=("-id",), cursor=cursor, limit=limit)


@router.get("/classifications/{int:request_id}", response=ClassificationOut)
def get_classification(
    request: HttpRequest, request_id: int, wait: float = 0
) -> ClassificationRequest:
    """One request; with ``wait`` (seconds, at most 60) answers as soon as it ends."""
    found = get_classification_for(current_user(request), request_id)
    return services.wait_until_done(found, wait)


@router.post("/classifications/{int:request_id}/cancel", response=ClassificationOut)
def cancel(request: HttpRequest, request_id: int) -> ClassificationRequest:
    found = get_classification_for(current_user(request), request_id)
    return services.cancel_classification(found)


@router.post(
    "/deployments/{name}/predict",
    response={200: ClassificationOut, 202: AcceptedOut},
    openapi_extra=_UPLOAD_OR_JSON,
)
def predict(request: HttpRequest, name: str, timeout: float = 30) -> Status[Any]:
    """Classify one image and wait up to ``timeout`` seconds (at most 60) for the answer:
    200 with the classification once it ends, else 202 with its id."""
    user = current_user(request)
    created = _submit(request, user, get_deployment_for(user, name))
    done = services.wait_until_done(created, timeout)
    if done.status in ("pending", "assigned"):
        return Status(202, AcceptedOut(id=done.pk, status=done.status))
    return Status(200, done)


@router.get("/deployments/{name}/stats", response=StatsOut)
def stats(request: HttpRequest, name: str) -> services.DeploymentStats:
    """Requests by status, throughput over the last minute and the live workers."""
    deployment = get_deployment_for(current_user(request), name)
    return services.deployment_stats(deployment)


def _dataset(user: User, ref: int | str) -> Dataset:
    if isinstance(ref, int) or ref.isdigit():
        return get_dataset_for(user, int(ref), write=True)
    dataset = get_dataset_by_name_for(user, ref)
    return get_dataset_for(user, dataset.pk, write=True)


@router.post("/classifications/save-label-set", response={201: LabelSetOut})
def save_label_set(request: HttpRequest, body: SaveLabelSetIn) -> Status[dict[str, Any]]:
    """Save the caller's results for images of ``dataset`` as a Pred label set of it."""
    user = current_user(request)
    deployment = get_deployment_for(user, body.deployment)
    dataset = _dataset(user, body.dataset)
    saved = services.save_label_set(deployment, dataset, body.label_set_name, by=user)
    return Status(201, saved)

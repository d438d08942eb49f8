"""Deployment pages: the list, one deployment with its live statistics, "classify an image",
and the classification it queued.

Statistics are ``inference.services.deployment_stats`` (as ``GET …/stats`` of the API), drawn by
one template fragment that ``deployments.js`` fetches again every few seconds. A classification
is submitted with the services the API uses, after the same access checks (read access to the
deployment, and to the dataset image when one is picked).
"""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from visionhub.core.errors import Invalid
from visionhub.datasets.access import get_dataset_for, get_image_for, readable_datasets
from visionhub.datasets.models import Dataset, Image
from visionhub.inference import services
from visionhub.inference.access import get_classification_for
from visionhub.inference.models import TERMINAL, ClassificationRequest
from visionhub.registry import access
from visionhub.registry.models import Deployment
from visionhub.web.paging import keyset_page
from visionhub.web.views import signed_in_user
from visionhub.web.views.models import qualified

PICK_PAGE = 24
DATASET_CHOICES = 200


@require_GET
def deployment_list(request: HttpRequest) -> HttpResponse:
    qs = access.visible_deployments(signed_in_user(request)).select_related(
        "owner", "model_version__definition__owner"
    )
    page = keyset_page(request, qs, order_by=("name", "id"))
    return render(
        request,
        "web/deployments/deployments.html",
        {"page": page},
    )


def _stats_context(deployment: Deployment) -> dict[str, Any]:
    stats = services.deployment_stats(deployment)
    return {"deployment": deployment, "stats": stats, "total": sum(stats.counts.values())}


def _pick(request: HttpRequest, deployment: Deployment) -> dict[str, Any]:
    """The dataset chosen to pick an image from (``?dataset=ID``) and a page of its images."""
    user = signed_in_user(request)
    datasets = list(
        readable_datasets(user).select_related("owner").order_by("name", "id")[:DATASET_CHOICES]
    )
    raw = request.GET.get("dataset", "")
    chosen: Dataset | None = None
    images: Any = None
    if raw.isdigit() and len(raw) <= 15:
        chosen = get_dataset_for(user, int(raw))
        images = keyset_page(
            request,
            Image.objects.filter(dataset=chosen).only("id", "idx", "filename", "width", "height"),
            order_by=("idx",),
            limit=PICK_PAGE,
        )
    return {"datasets": datasets, "chosen": chosen, "images": images}


@require_GET
def deployment_detail(request: HttpRequest, name: str) -> HttpResponse:
    user = signed_in_user(request)
    deployment = access.get_deployment_for(user, name)
    version = deployment.model_version
    context = {
        **_stats_context(deployment),
        **_pick(request, deployment),
        "model_ref": qualified(version.definition),
        "version": version,
        "revisions": list(deployment.revisions.select_related("changed_by").order_by("-id")[:20]),
    }
    return render(request, "web/deployments/deployment.html", context)


@require_GET
def deployment_stats(request: HttpRequest, name: str) -> HttpResponse:
    """The statistics fragment of the deployment page, drawn afresh."""
    deployment = access.get_deployment_for(signed_in_user(request), name)
    response = render(request, "web/deployments/_stats.html", _stats_context(deployment))
    response["Cache-Control"] = "no-store"
    return response


def _image_id(request: HttpRequest) -> int | None:
    raw = request.POST.get("image", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 15:
        raise Invalid("invalid_image_id", "pick an image of a dataset")
    return int(raw)


@require_POST
def classify(request: HttpRequest, name: str) -> HttpResponseBase:
    """Queue an uploaded image (``file``) or a dataset image (``image``, its id) and go to the
    classification's page, which shows the answer once the fleet gives it."""
    user = signed_in_user(request)
    deployment = access.get_deployment_for(user, name)
    upload = request.FILES.get("file")
    image_id = _image_id(request)
    if upload is not None:
        created = services.submit_upload(
            deployment, cast(BinaryIO, upload), by=user, size=upload.size
        )
    elif image_id is not None:
        created = services.submit_dataset_image(deployment, get_image_for(user, image_id), by=user)
    else:
        raise Invalid("missing_image", "upload an image or pick one from a dataset")
    return redirect("web:classification", request_id=created.pk)


def _result_of(found: ClassificationRequest) -> dict[str, Any]:
    scores = sorted((found.scores or {}).items(), key=lambda item: -float(item[1]))
    return {
        "id": found.pk,
        "status": found.status,
        "terminal": found.status in TERMINAL,
        "label": found.label if found.result is not None else None,
        "scores": [{"label": label, "score": float(score)} for label, score in scores],
        "errors": [str(e.get("error", e)) if isinstance(e, dict) else str(e) for e in found.errors],
        "attempts": found.attempts,
    }


@require_GET
def classification_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    found = get_classification_for(signed_in_user(request), request_id)
    context = {"classification": found, "result": _result_of(found)}
    return render(request, "web/deployments/classification.html", context)


@require_GET
def classification_status(request: HttpRequest, request_id: int) -> JsonResponse:
    """The classification's status, label and scores (as the page shows them)."""
    found = get_classification_for(signed_in_user(request), request_id)
    response = JsonResponse(_result_of(found))
    response["Cache-Control"] = "no-store"
    return response

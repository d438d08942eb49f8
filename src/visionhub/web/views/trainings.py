"""Training pages: the list and one training, whose state and progress follow its reports.

``trainings.js`` polls ``status`` (the trainings the signed-in person may see among the ids it
asks for) while any shown training is still waiting or running.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from visionhub.core.errors import Invalid
from visionhub.registry import access
from visionhub.registry.models import Training, TrainingState
from visionhub.registry.services.trainings import TERMINAL
from visionhub.web.paging import keyset_page
from visionhub.web.views import signed_in_user
from visionhub.web.views.common import pretty_json

MAX_POLLED = 200


def _state_filter(raw: str) -> str | None:
    state = raw.strip().upper()
    if not state:
        return None
    if state not in TrainingState.values:
        raise Invalid("invalid_state", f"state must be one of {', '.join(TrainingState.values)}")
    return state


@require_GET
def training_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    qs = access.visible_trainings(user).select_related("owner", "project", "build_version")
    state = _state_filter(request.GET.get("state", ""))
    if state is not None:
        qs = qs.filter(state=state)
    page = keyset_page(request, qs, order_by=("-id",))
    context = {
        "page": page,
        "state": state or "",
        "states": TrainingState.values,
    }
    return render(request, "web/registry/trainings.html", context)


@require_GET
def training_detail(request: HttpRequest, training_id: int) -> HttpResponse:
    training = access.get_training_for(signed_in_user(request), training_id)
    versions = training.model_versions.select_related("definition__owner").order_by("id")[:100]
    context = {
        "training": training,
        "details_json": pretty_json(training.details),
        "versions": versions,
        "terminal": training.state in TERMINAL,
    }
    return render(request, "web/registry/training.html", context)


def status_of(training: Training) -> dict[str, Any]:
    """What the pages show of a training and refresh while it runs."""
    return {
        "id": training.pk,
        "state": training.state,
        "progress": training.progress,
        "percent": round(100 * training.progress),
        "terminal": training.state in TERMINAL,
        "start_time": training.start_time.isoformat() if training.start_time else None,
        "update_time": training.update_time.isoformat(),
        "details": pretty_json(training.details),
    }


def _ids(request: HttpRequest) -> list[int]:
    raw = request.GET.getlist("id")
    if len(raw) > MAX_POLLED or not all(item.isdigit() and len(item) <= 15 for item in raw):
        raise Invalid("invalid_ids", f"give at most {MAX_POLLED} training ids")
    return [int(item) for item in raw]


@require_GET
def training_status(request: HttpRequest) -> JsonResponse:
    """``{"trainings": [...]}``: the asked-for trainings the caller may see (others are left
    out, as missing ones are)."""
    visible = access.visible_trainings(signed_in_user(request)).filter(pk__in=_ids(request))
    trainings = [status_of(t) for t in visible.order_by("id")]
    response = JsonResponse({"trainings": trainings})
    response["Cache-Control"] = "no-store"
    return response

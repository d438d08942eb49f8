"""The home page: what the signed-in person owns or may see, most recent first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from visionhub.datasets.access import readable_datasets
from visionhub.registry.access import visible_definitions, visible_deployments, visible_trainings
from visionhub.web.views import signed_in_user

SHOWN = 8


def home(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    context = {
        "datasets": list(readable_datasets(user).select_related("owner").order_by("-id")[:SHOWN]),
        "models": list(visible_definitions(user).select_related("owner").order_by("-id")[:SHOWN]),
        "deployments": list(
            visible_deployments(user)
            .select_related("model_version__definition")
            .order_by("-id")[:SHOWN]
        ),
        "trainings": list(visible_trainings(user).order_by("-id")[:SHOWN]),
    }
    return render(request, "web/home/home.html", context)

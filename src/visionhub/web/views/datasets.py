"""Datasets: the list with covers, create, edit, delete (after a confirmation), members."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from visionhub.accounts import sharing
from visionhub.accounts.sharing import Level
from visionhub.core.errors import ApiError
from visionhub.datasets import access
from visionhub.datasets.models import LabelSet
from visionhub.datasets.services import datasets as dataset_service
from visionhub.datasets.services import stats as stats_service
from visionhub.web.charts import bar_chart
from visionhub.web.forms import DatasetForm, MemberForm
from visionhub.web.paging import keyset_page
from visionhub.web.views import signed_in_user

FIELDS = ("name", "display_name", "description", "visibility", "img_width", "img_height")


def dataset_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    found = access.readable_datasets(user).select_related("owner", "cover")
    if request.GET.get("owner") == "me":
        found = found.filter(owner=user)
    page = keyset_page(request, found, order_by=("-id",), limit=24)
    return render(request, "web/datasets/list.html", {"page": page, "mine": "owner" in request.GET})


def _form_error(form: DatasetForm | MemberForm, error: ApiError) -> None:
    field = "name" if error.code in {"dataset_exists", "invalid_slug", "invalid_name"} else None
    form.add_error(field, error.message)


@require_http_methods(["GET", "POST"])
def dataset_create(request: HttpRequest) -> HttpResponse:
    form = DatasetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = dataset_service.create_dataset(
                signed_in_user(request),
                form.cleaned_data["name"],
                **{k: v for k, v in form.cleaned_data.items() if k != "name"},
            )
        except ApiError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Dataset {dataset.name} created.")
            return HttpResponseRedirect(reverse("web:dataset", args=[dataset.pk]))
    return render(request, "web/datasets/form.html", {"form": form, "dataset": None})


@require_http_methods(["GET", "POST"])
def dataset_edit(request: HttpRequest, dataset_id: int) -> HttpResponse:
    user = signed_in_user(request)
    dataset = access.get_dataset_for(user, dataset_id, write=True)
    is_owner = access.level_of(user, dataset) == Level.OWNER
    initial = {f: getattr(dataset, f) for f in (*FIELDS, "maintain_ratio")}
    form = DatasetForm(request.POST or None, initial=initial)
    if not is_owner:
        form.fields["visibility"].disabled = True  # only the owner changes who may see it
    if request.method == "POST" and form.is_valid():
        changes: dict[str, Any] = dict(form.cleaned_data)
        if not is_owner:
            changes.pop("visibility")
        try:
            dataset_service.update_dataset(dataset, **changes)
        except ApiError as error:
            _form_error(form, error)
        else:
            messages.success(request, "Saved.")
            return HttpResponseRedirect(reverse("web:dataset", args=[dataset.pk]))
    return render(request, "web/datasets/form.html", {"form": form, "dataset": dataset})


@require_http_methods(["GET", "POST"])
def dataset_delete(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = access.get_dataset_for(signed_in_user(request), dataset_id, owner=True)
    if request.method == "POST":
        if request.POST.get("confirm_name") != dataset.name:
            messages.error(request, "Type the dataset's name to confirm.")
            return HttpResponseRedirect(request.path)
        name = dataset.name
        dataset_service.delete_dataset(dataset)
        messages.success(request, f"Dataset {name} and everything in it were deleted.")
        return HttpResponseRedirect(reverse("web:datasets"))
    counts = stats_service.dataset_stats(dataset)
    context = {
        "dataset": dataset,
        "stats": counts,
        "label_sets": LabelSet.objects.filter(dataset=dataset).order_by("name"),
    }
    return render(request, "web/datasets/delete.html", context)


@require_http_methods(["GET", "POST"])
def dataset_members(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = access.get_dataset_for(signed_in_user(request), dataset_id, owner=True)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sharing.set_member(dataset, form.cleaned_data["username"], form.cleaned_data["access"])
        except ApiError as error:
            form.add_error("username", error.message)
        else:
            messages.success(request, f"{form.cleaned_data['username']} may now access it.")
            return HttpResponseRedirect(request.path)
    members = sharing.members_of(dataset)
    return render(
        request,
        "web/datasets/members.html",
        {"dataset": dataset, "members": members, "form": form},
    )


@require_POST
def member_remove(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = access.get_dataset_for(signed_in_user(request), dataset_id, owner=True)
    username = request.POST.get("username", "")
    sharing.remove_member(dataset, username)
    messages.success(request, f"{username} no longer has access.")
    return HttpResponseRedirect(reverse("web:dataset-members", args=[dataset.pk]))


def dataset_stats(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """Images, and annotations per category per label set: a chart and the same table."""
    dataset = access.get_dataset_for(signed_in_user(request), dataset_id)
    stats = stats_service.dataset_stats(dataset)
    names = sorted(
        {c["name"] or "(no category)" for s in stats["label_sets"] for c in s["categories"]}
    )
    per_set = [
        (
            f"{s['name']} ({s['kind']})",
            [
                float(
                    sum(c["count"] for c in s["categories"] if (c["name"] or "(no category)") == n)
                )
                for n in names
            ],
        )
        for s in stats["label_sets"]
    ]
    table = [(n, [int(values[i]) for _, values in per_set]) for i, n in enumerate(names)]
    context = {
        "dataset": dataset,
        "stats": stats,
        "chart": bar_chart(names, per_set),
        "set_names": [name for name, _ in per_set],
        "table": table,
    }
    return render(request, "web/datasets/stats.html", context)

"""A dataset's gallery: thumbnails with every filter of the API, keyset pages, flagging.

The filters are the query string (a view can be bookmarked and shared), read by one form and
handed to ``services.images.browse``, the function behind the API's image list. A page costs
the same handful of queries on page 1 and page 20,000 (``test_gallery_queries``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from visionhub.accounts.sharing import Level
from visionhub.core.errors import Invalid
from visionhub.datasets import access
from visionhub.datasets.models import Category, Dataset, Image, LabelSet
from visionhub.datasets.services import images as image_service
from visionhub.web.forms import GalleryFilter
from visionhub.web.paging import keyset_page
from visionhub.web.views import local_url, signed_in_user

PAGE_SIZE = 60


def read_filter(query: QueryDict) -> tuple[image_service.ImageFilter, dict[str, Any]]:
    """The image filter of a gallery URL and its cleaned values (422 for a bad one)."""
    form = GalleryFilter(query)
    if not form.is_valid():
        problems = {
            field: " ".join(str(e) for e in errors) for field, errors in form.errors.items()
        }
        raise Invalid(
            "invalid_filter",
            "; ".join(f"{field}: {text}" for field, text in problems.items()),
            details=problems,
        )
    data = form.cleaned_data
    chosen = image_service.ImageFilter(
        from_idx=data["position"],
        flag=data["flag"],
        label_set=data["label_set"],
        category=data["category"],
        min_conf=data["min_conf"],
        max_conf=data["max_conf"],
        has_annotations=data["annotated"],
    )
    return chosen, data


def filter_query(query: QueryDict) -> str:
    """The selecting filters of ``query``, to carry from the gallery to the viewer and back."""
    kept = QueryDict(mutable=True)
    for key in GalleryFilter.SELECTING:
        value = query.get(key)
        if value:
            kept[key] = str(value)
    return kept.urlencode()


def gallery(request: HttpRequest, dataset_id: int) -> HttpResponse:
    user = signed_in_user(request)
    dataset = access.get_dataset_for(user, dataset_id)
    chosen, data = read_filter(request.GET)
    if request.GET.get("after") or request.GET.get("before"):
        chosen = replace(chosen, from_idx=None)  # the cursor says where the page starts
    images = image_service.browse(dataset, chosen).only(
        "id", "idx", "flag", "width", "height", "filename", "dataset_id"
    )
    page = keyset_page(
        request,
        images,
        order_by=("idx",),
        limit=data["limit"] or PAGE_SIZE,
        has_previous=bool(data["position"]),
        start_param="position",
    )
    keep = filter_query(request.GET)
    suffix = f"?{keep}" if keep else ""
    # Tiles and options are prepared here: the template loop stays a few lookups per tile
    # (the page renders in tens of milliseconds with 60 tiles and 80 categories).
    tiles = [
        {
            "id": image.pk,
            "idx": image.idx,
            "flag": image.flag,
            "filename": image.filename,
            "href": f"{reverse('web:image', args=[image.pk])}{suffix}",
            "thumbnail": reverse("web:image-thumbnail", args=[image.pk]),
        }
        for image in page.items
    ]
    categories = Category.objects.filter(dataset=dataset).order_by("name").values_list("id", "name")
    context = {
        "dataset": dataset,
        "page": page,
        "tiles": tiles,
        "filters": data,
        "label_sets": [
            (ls.pk, f"{ls.name} ({ls.kind})", ls.pk == data["label_set"])
            for ls in LabelSet.objects.filter(dataset=dataset).order_by("id")
        ],
        "categories": [(pk, name, pk == data["category"]) for pk, name in categories],
        "can_write": access.level_of(user, dataset) >= Level.WRITE,
    }
    return render(request, "web/datasets/gallery.html", context)


def _flag_value(raw: str | None) -> int:
    if raw not in {"0", "1", "2"}:
        raise Invalid("invalid_flag", "flag must be 0, 1 or 2")
    return int(raw)


def _ids(values: list[str]) -> list[int]:
    try:
        ids = [int(v) for v in values]
    except ValueError:
        raise Invalid("invalid_image_ids", "image ids must be integers") from None
    if not ids or len(ids) > 10_000:
        raise Invalid("invalid_image_ids", "choose between 1 and 10,000 images")
    return ids


def _answer(request: HttpRequest, count: int, back: str) -> HttpResponse:
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"count": count})
    return HttpResponseRedirect(back)


@require_POST
def flag_images(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """Flag the chosen images (one, or a selection) of a dataset the person may change."""
    dataset = access.get_dataset_for(signed_in_user(request), dataset_id, write=True)
    flag = _flag_value(request.POST.get("flag"))
    count = image_service.flag_images(dataset, _ids(request.POST.getlist("image_ids")), flag)
    back = local_url(request, request.POST.get("back"), _gallery_url(dataset))
    return _answer(request, count, back)


def _gallery_url(dataset: Dataset) -> str:
    return reverse("web:dataset", args=[dataset.pk])


def neighbours(dataset: Dataset, image: Image, query: QueryDict) -> tuple[int | None, int | None]:
    """The previous and next images after ``image`` under the gallery filters of ``query``."""
    chosen, _ = read_filter(query)
    matching = image_service.browse(dataset, chosen)
    before = matching.filter(idx__lt=image.idx).order_by("-idx").values_list("id", flat=True)
    after = matching.filter(idx__gt=image.idx).order_by("idx").values_list("id", flat=True)
    return next(iter(before[:1]), None), next(iter(after[:1]), None)

"""The image viewer: the full image with every annotation of every label set drawn over it.

The page carries its annotations as JSON (a ``<script type="application/json">`` data block,
which the CSP lets through because it is never executed); ``viewer.js`` draws them on a canvas.
Previous and next follow the gallery's filters, carried in the query string.
"""

from __future__ import annotations

import colorsys
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from visionhub.accounts.sharing import Level
from visionhub.datasets import access
from visionhub.datasets.models import Annotation, Category, Image, LabelSet
from visionhub.datasets.services import images as image_service
from visionhub.web.views import local_url, signed_in_user
from visionhub.web.views.gallery import _flag_value, filter_query, neighbours

# The most annotations one page draws (a detector's raw output can hold thousands).
MAX_ANNOTATIONS = 5000


def category_color(category_id: int | None) -> str:
    """A colour per category, the same on every page: hues a golden angle apart."""
    if category_id is None:
        return "#ffffff"
    hue = (category_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _annotation(a: Annotation) -> dict[str, Any]:
    return {
        "id": a.pk,
        "label_set": a.label_set_id,
        "category": a.category_id,
        "conf": a.conf,
        "bbox": a.bbox,
        "segmentation": a.segmentation,
        "keypoints": a.keypoints,
        "caption": a.caption,
        "is_group": a.is_group,
        "alpha_url": reverse("web:annotation-alpha", args=[a.pk]) if a.alpha_sha256 else None,
    }


def viewer_data(image: Image) -> dict[str, Any]:
    """Everything the viewer draws for ``image``: three queries whatever the image."""
    label_sets = list(LabelSet.objects.filter(dataset_id=image.dataset_id).order_by("id"))
    rows = list(
        Annotation.objects.filter(image=image)
        .defer("compare_result", "confirm_type", "matched_gt", "area")
        .order_by("label_set_id", "-conf", "id")[: MAX_ANNOTATIONS + 1]
    )
    used = {a.category_id for a in rows if a.category_id is not None}
    categories = Category.objects.filter(pk__in=used).order_by("name")
    return {
        "image": {
            "id": image.pk,
            "width": image.width,
            "height": image.height,
            "url": reverse("web:image-content", args=[image.pk]),
        },
        "label_sets": [{"id": s.pk, "name": s.name, "kind": s.kind} for s in label_sets],
        "categories": {
            str(c.pk): {
                "name": c.name,
                "color": category_color(c.pk),
                "keypoint_names": c.keypoint_names,
                "skeleton": c.keypoint_skeleton,
            }
            for c in categories
        },
        "annotations": [_annotation(a) for a in rows[:MAX_ANNOTATIONS]],
        "truncated": len(rows) > MAX_ANNOTATIONS,
    }


def _labels(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The annotations without a shape (classification labels, captions), named for the panel."""
    sets = {s["id"]: s["name"] for s in data["label_sets"]}
    names = {int(k): c["name"] for k, c in data["categories"].items()}
    return [
        {**a, "category_name": names.get(a["category"], ""), "label_set_name": sets[a["label_set"]]}
        for a in data["annotations"]
        if a["caption"] or not (a["bbox"] or a["segmentation"] or a["keypoints"] or a["alpha_url"])
    ]


def viewer(request: HttpRequest, image_id: int) -> HttpResponse:
    user = signed_in_user(request)
    image = access.get_image_for(user, image_id)
    dataset = image.dataset
    previous_id, next_id = neighbours(dataset, image, request.GET)
    keep = filter_query(request.GET)
    suffix = f"?{keep}" if keep else ""
    data = viewer_data(image)
    context = {
        "image": image,
        "dataset": dataset,
        "data": data,
        "legend": [(c["name"], c["color"]) for c in data["categories"].values()],
        "classifications": _labels(data),
        "previous_url": reverse("web:image", args=[previous_id]) + suffix if previous_id else None,
        "next_url": reverse("web:image", args=[next_id]) + suffix if next_id else None,
        "gallery_url": reverse("web:dataset", args=[dataset.pk]) + suffix,
        "can_write": access.level_of(user, dataset) >= Level.WRITE,
    }
    return render(request, "web/datasets/viewer.html", context)


@require_POST
def flag_image(request: HttpRequest, image_id: int) -> HttpResponse:
    image = access.get_image_for(signed_in_user(request), image_id, write=True)
    image_service.flag_images(image.dataset, [image.pk], _flag_value(request.POST.get("flag")))
    back = local_url(request, request.POST.get("back"), reverse("web:image", args=[image.pk]))
    return HttpResponseRedirect(back)

"""Image bytes for the pages: thumbnails, full images and alpha mattes, by session.

The same ``access`` checks as the API (another person's private image is a 404). The bytes are
content-addressed, so each answer is cacheable for good: ``ETag`` is the blob's sha256, a
revalidation gets 304, and the browser keeps what it fetched (``private``: behind a session).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from visionhub.datasets import access
from visionhub.datasets.services import annotations as annotation_service
from visionhub.datasets.services.decode import content_type
from visionhub.storage.http import blob_response
from visionhub.web.views import signed_in_user

IMMUTABLE = "private, max-age=31536000, immutable"


def _cached(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = IMMUTABLE
    return response


@require_safe
def thumbnail(request: HttpRequest, image_id: int) -> HttpResponseBase:
    image = access.get_image_for(signed_in_user(request), image_id)
    return _cached(blob_response(request, image.thumbnail_sha256, content_type="image/jpeg"))


@require_safe
def content(request: HttpRequest, image_id: int) -> HttpResponseBase:
    image = access.get_image_for(signed_in_user(request), image_id)
    return _cached(blob_response(request, image.sha256, content_type=content_type(image.format)))


@require_safe
def alpha(request: HttpRequest, annotation_id: int) -> HttpResponseBase:
    annotation = access.get_annotation_for(signed_in_user(request), annotation_id)
    sha256 = annotation_service.alpha_of(annotation)
    return _cached(blob_response(request, sha256, content_type="image/png"))

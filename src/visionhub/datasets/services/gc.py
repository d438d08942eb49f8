"""The blobs the datasets app references, for ``visionhub gc``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from visionhub.datasets.models import Annotation, Image, StagedImage
from visionhub.datasets.services.images import STAGED_KEEP_SECONDS


def referenced_blobs() -> Iterator[str]:
    """Every sha256 an image, thumbnail or alpha mask of any dataset points to, and those of
    images staged in the last day (may repeat)."""
    fresh = timezone.now() - timedelta(seconds=STAGED_KEEP_SECONDS)
    staged = StagedImage.objects.filter(created_at__gte=fresh).values_list(
        "sha256", "thumbnail_sha256"
    )
    for sha256, thumbnail in staged.iterator(chunk_size=10_000):
        yield sha256
        yield thumbnail
    images = Image.objects.order_by().values_list("sha256", "thumbnail_sha256")
    for sha256, thumbnail in images.iterator(chunk_size=10_000):
        yield sha256
        if thumbnail:
            yield thumbnail
    alphas = Annotation.objects.exclude(alpha_sha256="").order_by().values_list("alpha_sha256")
    for (alpha,) in alphas.distinct().iterator(chunk_size=10_000):
        yield alpha

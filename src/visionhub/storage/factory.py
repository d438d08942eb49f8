"""Pick the blob store by URL scheme: ``file:///path`` or ``s3://bucket/prefix``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from visionhub.storage.base import BlobStore
from visionhub.storage.filesystem import FilesystemStore


def store_from_url(url: str, *, endpoint_url: str | None = None) -> BlobStore:
    """A new store for ``url``; raises ``ImproperlyConfigured`` for anything else.

    Needs no Django settings, so tools and tests can build stores directly.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ImproperlyConfigured(f"storage URL must be file:///absolute/path, not {url!r}")
        return FilesystemStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ImproperlyConfigured(f"storage URL must be s3://bucket/prefix, not {url!r}")
        # Imported here so that file:// deployments and workers never pay for importing boto3.
        from visionhub.storage.s3 import S3Store

        return S3Store(parts.netloc, unquote(parts.path), endpoint_url=endpoint_url or None)
    raise ImproperlyConfigured(f"storage URL must start with file:// or s3://, not {url!r}")


@functools.cache
def get_store() -> BlobStore:
    """The store configured by ``settings.STORAGE_URL``, built once per process."""
    endpoint: str | None = getattr(settings, "S3_ENDPOINT_URL", None) or None
    return store_from_url(settings.STORAGE_URL, endpoint_url=endpoint)


def reset_store_cache() -> None:
    """Forget the cached store, so the next ``get_store()`` reads the settings again."""
    get_store.cache_clear()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    # Tests that override STORAGE_URL get a store that follows the override.
    if setting in ("STORAGE_URL", "S3_ENDPOINT_URL"):
        reset_store_cache()

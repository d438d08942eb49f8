"""Content-addressed blob storage (key = sha256), on the filesystem or S3.

``get_store()`` returns the store configured by ``VISIONHUB_STORAGE_URL``; ``BlobStore`` in
``base.py`` is what every backend promises.
"""

from __future__ import annotations

from visionhub.storage.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    HashMismatch,
    InvalidRange,
)
from visionhub.storage.factory import get_store, reset_store_cache, store_from_url

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "BlobTooLarge",
    "HashMismatch",
    "InvalidRange",
    "get_store",
    "reset_store_cache",
    "store_from_url",
]

"""The blob store protocol: content-addressed by sha256, streamed, atomic.

Every backend (``filesystem.py``, ``s3.py``) implements ``BlobStore``; ``factory.get_store()``
returns the one configured by ``VISIONHUB_STORAGE_URL``. Keys are lowercase sha256 hex digests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from visionhub.core.errors import ApiError, Invalid, NotFound, TooLarge

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int


class BlobNotFound(NotFound):
    code = "blob_not_found"


class BlobTooLarge(TooLarge):
    """Raised while streaming, as soon as more than ``max_bytes`` have arrived."""

    code = "file_too_large"


class HashMismatch(Invalid):
    code = "hash_mismatch"


class InvalidRange(ApiError):
    status = 416
    code = "invalid_range"


def check_key(sha256: str) -> str:
    if not SHA256_RE.match(sha256):
        raise BlobNotFound("blob_not_found", "no such blob")
    return sha256


class BlobStore(Protocol):
    """What every backend promises."""

    def put(
        self,
        source: BinaryIO | Iterable[bytes],
        *,
        expected_sha256: str | None = None,
        max_bytes: int | None = None,
    ) -> BlobInfo:
        """Stream ``source`` into the store and return its sha256 and size.

        Reads in chunks (memory stays bounded whatever the size), hashes while writing to a
        temporary object, and publishes under the sha256 only when complete and verified. If
        ``expected_sha256`` is given and differs, raises ``HashMismatch`` and keeps nothing. If
        more than ``max_bytes`` arrive, raises ``BlobTooLarge`` and keeps nothing. Putting
        content that already exists is cheap and idempotent.
        """
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A readable binary stream of the blob; raises ``BlobNotFound``."""
        ...

    def iter_range(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Chunks of bytes ``start`` .. ``end`` inclusive (``None`` = to the end)."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int:
        """Size in bytes; raises ``BlobNotFound``."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the blob if present (idempotent)."""
        ...

    def presigned_url(self, sha256: str, *, ttl: int, filename: str | None = None) -> str | None:
        """A time-limited direct download URL if the backend has one (S3), else ``None``."""
        ...

    def iter_keys(self) -> Iterator[str]:
        """Every stored sha256 (for garbage collection)."""
        ...

"""Blobs of model files: stored before the rows that reference them, reclaimed after them.

Uploads put their blobs first (never inside a database transaction: a 300 MB put must not hold
the SQLite write lock) and then create the rows; ``BlobGuard`` deletes the blobs a failed upload
added. Deletions drop the rows first and reclaim the blobs only after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import BinaryIO

from django.db import transaction

from visionhub.registry.models import ModelFile
from visionhub.storage.base import BlobInfo, BlobStore
from visionhub.storage.factory import get_store

log = logging.getLogger(__name__)


def referenced_blobs() -> Iterator[str]:
    """The sha256 of every model file (for ``visionhub gc``), each once."""
    return ModelFile.objects.values_list("sha256", flat=True).distinct().order_by().iterator()


def unreferenced(shas: Iterable[str]) -> set[str]:
    """Those of ``shas`` that no model file references."""
    wanted = set(shas)
    used = set(ModelFile.objects.filter(sha256__in=wanted).values_list("sha256", flat=True))
    return wanted - used


def reclaim(shas: Iterable[str], store: BlobStore | None = None) -> list[str]:
    """Delete the blobs of ``shas`` that no model file references any more; return them.

    Only model files are consulted: model blobs are not shared with datasets in practice,
    and ``visionhub gc`` (which asks every app) is the safety net either way.
    """
    store = store or get_store()
    doomed = sorted(unreferenced(shas))
    for sha in doomed:
        store.delete(sha)
    if doomed:
        log.info("reclaimed %d model file blobs", len(doomed))
    return doomed


def reclaim_after_commit(shas: Iterable[str]) -> None:
    """Reclaim ``shas`` once the current transaction commits (nothing if it rolls back)."""
    pending = set(shas)
    if pending:
        transaction.on_commit(lambda: reclaim(pending))


class BlobGuard:
    """Puts blobs and, if the block fails, deletes the ones it added that nothing references.

    ``with BlobGuard() as guard: info = guard.put(stream, ...); create rows`` — on an exception
    the store is as it was before (blobs that existed already are left alone).
    """

    def __init__(self, store: BlobStore | None = None) -> None:
        self.store = store or get_store()
        self.added: set[str] = set()

    def put(
        self,
        source: BinaryIO | Iterable[bytes],
        *,
        expected_sha256: str | None = None,
        max_bytes: int | None = None,
    ) -> BlobInfo:
        existed = expected_sha256 is not None and self.store.exists(expected_sha256)
        info = self.store.put(source, expected_sha256=expected_sha256, max_bytes=max_bytes)
        if not existed:
            # Without an expected hash we cannot know whether it existed: nothing references
            # it yet either way, so reclaiming it on failure is still safe for model files.
            self.added.add(info.sha256)
        return info

    def __enter__(self) -> BlobGuard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self.added:
            reclaim(self.added, self.store)

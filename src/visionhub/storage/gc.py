"""Garbage collection: delete blobs that nothing references any more.

Safe against uploads running at the same time: a blob younger than the grace period is never
deleted, and both backends refresh a blob's modification time when it is put again, so content
that is re-uploaded just before a new row references it survives too. Code that references an
existing blob *without* putting it should do so well within the grace period of its last put.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from visionhub.storage.base import BlobNotFound, BlobStore
from visionhub.storage.factory import get_store

log = logging.getLogger(__name__)


@runtime_checkable
class SupportsModifiedAt(Protocol):
    def modified_at(self, sha256: str) -> datetime: ...


def collect_garbage(
    referenced: Callable[[], Iterable[str]] | set[str],
    *,
    dry_run: bool = False,
    grace_seconds: int = 3600,
    store: BlobStore | None = None,
) -> list[str]:
    """Delete every blob not in ``referenced`` and return their sha256s (sorted).

    ``referenced`` is the set of live keys, or a function returning them (called once, before
    the store is listed). Blobs modified less than ``grace_seconds`` ago are kept, when the
    backend can tell (both built-in ones can). With ``dry_run`` nothing is deleted and the
    return value says what would have been. ``store`` defaults to ``get_store()``.
    """
    if store is None:
        store = get_store()
    live = set(referenced() if callable(referenced) else referenced)
    cutoff = datetime.now(tz=UTC) - timedelta(seconds=grace_seconds)
    aged = store if isinstance(store, SupportsModifiedAt) else None

    doomed: list[str] = []
    for sha256 in store.iter_keys():
        if sha256 in live:
            continue
        try:
            # Checked per blob, just before deleting, to see re-puts made during the listing.
            if aged is not None and aged.modified_at(sha256) > cutoff:
                continue
        except BlobNotFound:
            continue  # deleted meanwhile by someone else
        if not dry_run:
            store.delete(sha256)
        doomed.append(sha256)
    log.info(
        "garbage collection %s %d unreferenced blobs",
        "would delete" if dry_run else "deleted",
        len(doomed),
    )
    return sorted(doomed)

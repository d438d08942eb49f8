"""The filesystem backend: ``root/ab/cd/<sha256>``, published atomically by rename.

A blob is first written to ``root/.tmp/`` (same filesystem, so the rename is atomic), fsynced and
hashed, and only then moved into place. A crash leaves at most a file in ``.tmp/``, which no
reader ever looks at and ``cleanup_temp`` removes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from visionhub.storage.base import SHA256_RE, BlobInfo, BlobNotFound, check_key
from visionhub.storage.streaming import ChunkReader, HashingReader

log = logging.getLogger(__name__)

_HEX2 = frozenset(f"{i:02x}" for i in range(256))


def _fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (POSIX only; a no-op where directories can't be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemStore:
    """A ``BlobStore`` in a local (or network-mounted) folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / ".tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FilesystemStore({str(self.root)!r})"

    def path(self, sha256: str) -> Path:
        """Where the blob lives (whether or not it exists)."""
        check_key(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(
        self,
        source: BinaryIO | Iterable[bytes],
        *,
        expected_sha256: str | None = None,
        max_bytes: int | None = None,
    ) -> BlobInfo:
        """See ``BlobStore.put``: temp file, fsync, verify, then an atomic rename into place."""
        reader = HashingReader(source, max_bytes=max_bytes)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="put-")
        tmp = Path(name)
        published = False
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in reader:
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            reader.verify(expected_sha256)
            info = BlobInfo(reader.sha256, reader.size)
            final = self.path(info.sha256)
            try:
                # Already stored: refresh its age so that garbage collection keeps a blob that
                # was just put again, and drop our copy.
                os.utime(final)
            except FileNotFoundError:
                pass
            else:
                return info
            final.parent.mkdir(parents=True, exist_ok=True)
            # mkstemp creates 0600; blobs are ordinary data files, the home folder's mode (0700)
            # is what guards access.
            tmp.chmod(0o644)
            tmp.replace(final)
            published = True
            _fsync_dir(final.parent)
            return info
        finally:
            if not published:
                tmp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobNotFound("blob_not_found", "no such blob") from None

    def iter_range(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes ``start``..``end`` inclusive, ``end`` clamped to the last byte.

        Raises ``BlobNotFound`` on the call (not on first iteration); an empty range yields nothing.
        """
        if start < 0 or (end is not None and end < 0):
            raise ValueError("range bounds must not be negative")
        fh = self.open(sha256)
        fh.seek(start)
        length = None if end is None else max(0, end - start + 1)
        return ChunkReader(fh, length)

    def exists(self, sha256: str) -> bool:
        if not SHA256_RE.match(sha256):
            return False
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        return self._stat(sha256).st_size

    def modified_at(self, sha256: str) -> datetime:
        """When the blob was last written (or re-put); raises ``BlobNotFound``."""
        return datetime.fromtimestamp(self._stat(sha256).st_mtime, tz=UTC)

    def _stat(self, sha256: str) -> os.stat_result:
        try:
            return self.path(sha256).stat()
        except FileNotFoundError:
            raise BlobNotFound("blob_not_found", "no such blob") from None

    def delete(self, sha256: str) -> None:
        if SHA256_RE.match(sha256):
            self.path(sha256).unlink(missing_ok=True)

    def presigned_url(self, sha256: str, *, ttl: int, filename: str | None = None) -> str | None:
        return None

    def iter_keys(self) -> Iterator[str]:
        """Every published blob, in sorted order; ``.tmp/`` and stray files are skipped."""
        for first in self._subdirs(self.root):
            for second in self._subdirs(first):
                prefix = first.name + second.name
                with os.scandir(second) as entries:
                    names = sorted(entry.name for entry in entries if entry.is_file())
                for name in names:
                    if SHA256_RE.match(name) and name.startswith(prefix):
                        yield name

    @staticmethod
    def _subdirs(path: Path) -> list[Path]:
        # Listed eagerly so that deleting blobs while iterating (gc) is safe.
        with os.scandir(path) as entries:
            return sorted(
                Path(entry.path) for entry in entries if entry.name in _HEX2 and entry.is_dir()
            )

    def cleanup_temp(self, older_than_seconds: float = 3600) -> int:
        """Remove temp files left by crashed writers; returns how many were removed.

        Only files older than ``older_than_seconds`` go, so writes in progress are untouched.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        with os.scandir(self.tmp_dir) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    if entry.is_file() and entry.stat().st_mtime <= cutoff:
                        Path(entry.path).unlink()
                        removed += 1
        if removed:
            log.info("removed %d abandoned temp files from %s", removed, self.tmp_dir)
        return removed

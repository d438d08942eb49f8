"""Hash-while-writing helpers shared by the backends.

``HashingReader`` turns any source (a binary file object or an iterable of bytes) into a stream of
chunks, hashing and counting them on the way and stopping with ``BlobTooLarge`` the moment
``max_bytes`` is exceeded. ``ChunkReader`` is the other direction: a closable iterator over a
readable object, used by ``iter_range``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol

from visionhub.storage.base import CHUNK_SIZE, BlobTooLarge, HashMismatch


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


def iter_source(
    source: BinaryIO | Iterable[bytes], chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The non-empty chunks of ``source``, read ``chunk_size`` at a time from a file object.

    Chunks of an iterable are passed through as they come: they are already in memory.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        # A bytes object is an Iterable[int]; treat it as the single chunk the caller meant.
        if source:
            yield bytes(source)
        return
    read = getattr(source, "read", None)
    if read is not None:
        while chunk := read(chunk_size):
            yield chunk
        return
    for chunk in source:
        if chunk:
            yield chunk


class HashingReader:
    """Iterate over ``source`` once, computing sha256 and size of everything yielded.

    Raises ``BlobTooLarge`` as soon as more than ``max_bytes`` have been read, before yielding
    the chunk that crossed the limit.
    """

    def __init__(
        self,
        source: BinaryIO | Iterable[bytes],
        *,
        max_bytes: int | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self._source = source
        self._chunk_size = chunk_size
        self._hash = hashlib.sha256()
        self.max_bytes = max_bytes
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in iter_source(self._source, self._chunk_size):
            self.size += len(chunk)
            if self.max_bytes is not None and self.size > self.max_bytes:
                raise BlobTooLarge(
                    message=f"more than {self.max_bytes} bytes",
                    details={"max_bytes": self.max_bytes},
                )
            self._hash.update(chunk)
            yield chunk

    @property
    def sha256(self) -> str:
        """Hex digest of what has been read so far (the whole blob once iteration ended)."""
        return self._hash.hexdigest()

    def verify(self, expected_sha256: str | None) -> None:
        """Raise ``HashMismatch`` unless ``expected_sha256`` is ``None`` or equals the digest."""
        if expected_sha256 is not None and expected_sha256.lower() != self.sha256:
            raise HashMismatch(
                message="content does not match the expected sha256",
                details={"expected": expected_sha256, "actual": self.sha256},
            )


class ChunkReader(Iterator[bytes]):
    """Chunks of at most ``chunk_size`` from ``fileobj``, stopping after ``length`` bytes.

    Closes ``fileobj`` when exhausted or when ``close()`` is called (Django's
    ``StreamingHttpResponse`` calls it even if the client disconnects early).
    """

    def __init__(
        self, fileobj: Readable, length: int | None = None, chunk_size: int = CHUNK_SIZE
    ) -> None:
        self._fileobj: Readable | None = fileobj
        self._remaining = length
        self._chunk_size = chunk_size

    def __next__(self) -> bytes:
        if self._fileobj is None:
            raise StopIteration
        want = self._chunk_size
        if self._remaining is not None:
            want = min(want, self._remaining)
        data = self._fileobj.read(want) if want > 0 else b""
        if not data:
            self.close()
            raise StopIteration
        if self._remaining is not None:
            self._remaining -= len(data)
        return data

    def close(self) -> None:
        if self._fileobj is not None:
            fileobj, self._fileobj = self._fileobj, None
            fileobj.close()

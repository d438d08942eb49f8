"""The worker's on-disk cache, keyed by sha256: model files (kept) and images (bounded, LRU).

Everything kept is verified against its sha256 before it is used or published, and published by
an atomic rename, so several worker processes may share one cache directory and a crash never
leaves a half-written file under a final name.

Images are admitted on their second download, not their first: most images a worker sees are
classified once (each upload is its own request), and writing each of them to disk would cost
(with its sha256) as much CPU as a tenth of a small model's whole work per image while the copy
is never read.
An image seen again (a dataset classified by a new model version, a request retried on this
worker) is kept from then on. This is the "second hit" admission of web caches, whose
one-hit-wonders are the same case; a bounded in-memory record of recent downloads remembers
what was seen.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from visionhub.worker.protocol import FileRef, ModelRef

# download(url, destination) writes the body at ``url`` to the file ``destination``.
Download = Callable[[str, Path], None]
# fetch(url) returns the body at ``url``.
Fetch = Callable[[str], bytes]

_CHUNK = 1024 * 1024

# The record of images downloaded once holds between this many and twice as many sha256s
# (two generations: the older one is dropped when the newer one is full), about 8 MB at most.
SEEN_GENERATION = 65_536


class IntegrityError(RuntimeError):
    """Downloaded content does not have the sha256 the server announced (it was discarded)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class WorkerCache:
    """Model files under ``root/files``, images under ``root/images`` (at most ``max_image_bytes``)."""

    def __init__(
        self,
        root: Path,
        *,
        max_image_bytes: int = 512 * 1024 * 1024,
        admit_on_first_download: bool = False,
    ) -> None:
        self.root = root
        self.max_image_bytes = max(0, max_image_bytes)
        self.admit_on_first_download = admit_on_first_download
        self._files = root / "files"
        self._versions = root / "versions"
        self._images = root / "images"
        self._tmp = root / "tmp"
        for folder in (self._files, self._versions, self._images, self._tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._key_locks: dict[str, _KeyLock] = {}
        self._verified: set[str] = set()
        self._lru: OrderedDict[str, int] = OrderedDict()
        self._seen: set[bytes] = set()
        self._seen_before: set[bytes] = set()
        self.image_bytes = 0
        self._counter = itertools.count()
        self._clean_staging()
        self._load_image_index()

    # --- model files ----------------------------------------------------------------------

    def model_path(self, model: ModelRef, download: Download) -> Path:
        """The local path of ``model``'s ONNX file, downloading and verifying what is missing.

        A model with external-data files gets a folder where every file has its own name, as
        onnxruntime looks them up beside the model.
        """
        refs = model.runtime_files
        paths = [self.file(ref, download) for ref in refs]
        if len(refs) == 1:
            return paths[0]
        key = hashlib.sha256(
            "\n".join(f"{ref.name}:{ref.sha256}" for ref in refs).encode()
        ).hexdigest()
        folder = self._versions / key
        if not folder.is_dir():
            staging = Path(tempfile.mkdtemp(dir=self._tmp))
            for ref, path in zip(refs, paths, strict=True):
                _link_or_copy(path, staging / Path(ref.name).name)
            try:
                staging.rename(folder)
            except OSError:  # another process published the same folder first
                shutil.rmtree(staging, ignore_errors=True)
        return folder / Path(refs[0].name).name

    def file(self, ref: FileRef, download: Download) -> Path:
        """The verified local copy of ``ref`` (downloaded at most once at a time per process)."""
        path = self._files / ref.sha256[:2] / ref.sha256
        with self._key_lock(ref.sha256):
            if ref.sha256 in self._verified and path.exists():
                return path
            # Checked once per process, so a file damaged on disk is fetched again.
            if path.exists() and sha256_file(path) != ref.sha256:
                path.unlink(missing_ok=True)
            if not path.exists():
                with self._staging() as tmp:
                    download(ref.url, tmp)
                    got = sha256_file(tmp)
                    if got != ref.sha256:
                        raise IntegrityError(
                            f"{ref.name}: downloaded sha256 {got}, expected {ref.sha256}"
                        )
                    path.parent.mkdir(exist_ok=True)
                    tmp.replace(path)
            self._verified.add(ref.sha256)
            return path

    # --- images ---------------------------------------------------------------------------

    def image(self, sha256: str, url: str, fetch: Fetch) -> bytes:
        """The bytes of image ``sha256``: from the cache, else fetched (and kept, verified, if
        this process downloaded it before, or always with ``admit_on_first_download``).

        Raises ``IntegrityError`` (keeping nothing) when content to be kept is not
        ``sha256``'s. An image used once is not hashed: its sha256 comes over the same
        connection as its bytes, so checking it proves nothing the transport (TLS) does not;
        what goes into the shared, persistent cache is checked, since a damaged file there
        would be used again and again.
        """
        path = self._images / sha256[:2] / sha256
        with self._key_lock(sha256):
            data = self._read_cached_image(sha256, path)
            if data is not None:
                return data
            data = fetch(url)
            if self._admit(sha256):
                got = hashlib.sha256(data).hexdigest()
                if got != sha256:
                    raise IntegrityError(f"image: downloaded sha256 {got}, expected {sha256}")
                self._store_image(sha256, path, data)
            return data

    def _admit(self, sha256: str) -> bool:
        """Whether a verified download of ``sha256`` is worth keeping; records that it was seen."""
        if self.admit_on_first_download:
            return True
        key = bytes.fromhex(sha256)
        with self._lock:
            if key in self._seen or key in self._seen_before:
                return True
            if len(self._seen) >= SEEN_GENERATION:
                self._seen_before, self._seen = self._seen, set()
            self._seen.add(key)
            return False

    def _read_cached_image(self, sha256: str, path: Path) -> bytes | None:
        with self._lock:
            if sha256 not in self._lru:
                return None
            self._lru.move_to_end(sha256)
        try:
            data = path.read_bytes()
            os.utime(path)  # the order survives a restart (the index is rebuilt by mtime)
        except FileNotFoundError:  # evicted by another process sharing the folder
            self._forget(sha256)
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            path.unlink(missing_ok=True)
            self._forget(sha256)
            return None
        return data

    def _store_image(self, sha256: str, path: Path, data: bytes) -> None:
        if len(data) > self.max_image_bytes:
            return
        with self._staging() as tmp:
            tmp.write_bytes(data)
            path.parent.mkdir(exist_ok=True)
            tmp.replace(path)
        with self._lock:
            self._lru[sha256] = len(data)
            self.image_bytes += len(data)
        self._evict()

    def _evict(self) -> None:
        """Remove the least recently used images until the total fits ``max_image_bytes``."""
        victims = []
        with self._lock:
            while self.image_bytes > self.max_image_bytes and self._lru:
                old, size = self._lru.popitem(last=False)
                self.image_bytes -= size
                victims.append(old)
        for old in victims:
            (self._images / old[:2] / old).unlink(missing_ok=True)

    def _forget(self, sha256: str) -> None:
        with self._lock:
            size = self._lru.pop(sha256, None)
            if size is not None:
                self.image_bytes -= size

    def _load_image_index(self) -> None:
        entries = []
        for path in self._images.glob("??/*"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            entries.append((stat.st_mtime, path.name, stat.st_size))
        for _, name, size in sorted(entries):
            self._lru[name] = size
            self.image_bytes += size
        self._evict()

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        """Serialises work on one key (one download of a file at a time), across threads."""
        with self._lock:
            entry = self._key_locks.get(key)
            if entry is None:
                entry = self._key_locks[key] = _KeyLock()
            entry.users += 1
        try:
            with entry.lock:
                yield
        finally:
            with self._lock:
                entry.users -= 1
                if entry.users == 0:
                    del self._key_locks[key]

    @contextmanager
    def _staging(self) -> Iterator[Path]:
        """A temporary file name of this process and thread, removed unless renamed away.

        (Not ``mkstemp``: making a random name costs more than writing a small image.)
        """
        tmp = self._tmp / f"{os.getpid()}-{threading.get_ident()}-{next(self._counter)}.part"
        try:
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def _clean_staging(self) -> None:
        """Remove what crashed processes left in ``tmp`` (anything older than an hour)."""
        limit = time.time() - 3600
        for leftover in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                if leftover.is_file() and leftover.stat().st_mtime < limit:
                    leftover.unlink()


class _KeyLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)

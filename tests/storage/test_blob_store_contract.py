"""What every blob store promises (``visionhub.storage.base.BlobStore``), checked on each backend.

The ``store`` fixture runs every test once on a folder and once on a real (moto) S3 server.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from pytest_django.fixtures import Settings as SettingsWrapper

from visionhub.storage import factory, signing
from visionhub.storage.api import download_blob
from visionhub.storage.base import (
    CHUNK_SIZE,
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    HashMismatch,
)
from visionhub.storage.filesystem import FilesystemStore
from visionhub.storage.gc import collect_garbage
from visionhub.storage.s3 import PART_SIZE, S3Store

MiB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def read_all(store: BlobStore, sha256: str) -> bytes:
    stream = store.open(sha256)
    try:
        return stream.read()
    finally:
        stream.close()


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


class Generated:
    """A deterministic stream of ``total`` bytes made on the fly, never held whole in memory."""

    def __init__(
        self, total: int, *, chunk: int = CHUNK_SIZE, fail_after: int | None = None
    ) -> None:
        self.total = total
        self.chunk = chunk
        self.fail_after = fail_after
        self.produced = 0
        self.digest = hashlib.sha256()
        self._block = content(chunk)

    def __iter__(self) -> Iterator[bytes]:
        number = 0
        while self.produced < self.total:
            if self.fail_after is not None and self.produced >= self.fail_after:
                raise ConnectionResetError("client went away")
            size = min(self.chunk, self.total - self.produced)
            # A counter in each chunk, so that a lost, repeated or reordered chunk changes the hash.
            piece = (number.to_bytes(8, "big") + self._block[8:size])[:size]
            self.digest.update(piece)
            self.produced += len(piece)
            number += 1
            yield piece


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 1, 100_000, 3 * CHUNK_SIZE + 5, PART_SIZE, 2 * PART_SIZE + 12_345],
    ids=["empty", "one-byte", "small", "multi-chunk", "one-part", "multi-part"],
)
def test_content_round_trips_from_a_file_object(store: BlobStore, size: int) -> None:
    data = content(size)

    info = store.put(io.BytesIO(data))

    assert (info.sha256, info.size) == (sha(data), size)
    assert store.exists(info.sha256)
    assert store.size(info.sha256) == size
    assert read_all(store, info.sha256) == data
    assert b"".join(store.iter_range(info.sha256)) == data
    assert list(store.iter_keys()) == [info.sha256]


def test_content_round_trips_from_an_iterable_of_odd_sized_chunks(
    store: BlobStore, leftovers: Callable[[], list[str]]
) -> None:
    data = content(PART_SIZE + 3 * CHUNK_SIZE + 17)

    info = store.put(chunks_of(data, 777_777), expected_sha256=sha(data))

    assert info.sha256 == sha(data)
    assert read_all(store, info.sha256) == data
    assert leftovers() == []


def test_putting_the_same_content_again_is_idempotent(
    store: BlobStore, leftovers: Callable[[], list[str]]
) -> None:
    small, large = content(1000), content(PART_SIZE + CHUNK_SIZE, seed=1)
    first = [store.put(io.BytesIO(small)), store.put(io.BytesIO(large))]

    again = [store.put(io.BytesIO(small)), store.put(chunks_of(large, CHUNK_SIZE))]

    assert again == first
    assert sorted(store.iter_keys()) == sorted(info.sha256 for info in first)
    assert read_all(store, first[1].sha256) == large
    assert leftovers() == []


def test_the_stored_modification_time_is_recent(store: BlobStore) -> None:
    info = store.put([b"fresh"])

    stamp = store.modified_at(info.sha256)  # type: ignore[attr-defined]

    assert stamp.tzinfo is not None
    assert abs(datetime.now(tz=UTC) - stamp) < timedelta(minutes=5)


# --- nothing half-written -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1000, 2 * PART_SIZE + 1], ids=["small", "multi-part"])
def test_a_hash_mismatch_keeps_nothing(
    store: BlobStore,
    size: int,
    leftovers: Callable[[], list[str]],
    visible_files: Callable[[], list[str]],
) -> None:
    data = content(size)

    with pytest.raises(HashMismatch) as caught:
        store.put(io.BytesIO(data), expected_sha256=sha(b"something else"))

    assert caught.value.details["actual"] == sha(data)
    assert not store.exists(sha(data))
    assert visible_files() == []
    assert leftovers() == []


@pytest.mark.parametrize(
    ("max_bytes", "total"),
    [(10, 11), (10 * MiB, 30 * MiB)],
    ids=["small", "after-a-multipart-upload-started"],
)
def test_exceeding_max_bytes_stops_reading_and_keeps_nothing(
    store: BlobStore,
    max_bytes: int,
    total: int,
    leftovers: Callable[[], list[str]],
    visible_files: Callable[[], list[str]],
) -> None:
    source = Generated(total)

    with pytest.raises(BlobTooLarge):
        store.put(source, max_bytes=max_bytes)

    assert source.produced <= max_bytes + CHUNK_SIZE  # stopped at the chunk that crossed the limit
    assert list(store.iter_keys()) == []
    assert visible_files() == []
    assert leftovers() == []  # on S3: the multipart upload was aborted


def test_content_of_exactly_max_bytes_is_accepted(store: BlobStore) -> None:
    info = store.put([b"x" * 10], max_bytes=10)

    assert info.size == 10


@pytest.mark.parametrize("fail_after", [3 * MiB, 20 * MiB], ids=["small", "multi-part"])
def test_an_interrupted_writer_leaves_no_visible_blob(
    store: BlobStore,
    fail_after: int,
    leftovers: Callable[[], list[str]],
    visible_files: Callable[[], list[str]],
) -> None:
    source = Generated(50 * MiB, fail_after=fail_after)

    with pytest.raises(ConnectionResetError):
        store.put(source)

    assert list(store.iter_keys()) == []
    assert visible_files() == []
    assert leftovers() == []


def test_cleanup_temp_removes_what_a_crashed_writer_left(
    store: BlobStore, leftovers: Callable[[], list[str]]
) -> None:
    # What a process killed mid-write leaves behind: a temp file, or a temp object and an open
    # multipart upload.
    if isinstance(store, FilesystemStore):
        crashed = "put-crashed"
        (store.tmp_dir / crashed).write_bytes(b"half")
    else:
        assert isinstance(store, S3Store)
        crashed = f"{store.temp_prefix}dead"
        store.client.put_object(Bucket=store.bucket, Key=crashed, Body=b"x")
        store.client.create_multipart_upload(Bucket=store.bucket, Key=f"{store.temp_prefix}dying")
    kept = store.put([b"a real blob"])
    assert list(store.iter_keys()) == [kept.sha256]

    # Too young to be judged abandoned: it may be a write in progress. (moto reports every
    # multipart upload as initiated in 2010, so only the temp object shows this on S3.)
    store.cleanup_temp(older_than_seconds=3600)
    assert crashed in leftovers()

    assert store.cleanup_temp(older_than_seconds=-60) >= 1
    assert leftovers() == []
    assert read_all(store, kept.sha256) == b"a real blob"


# --- reading and listing --------------------------------------------------------------------------


def test_missing_and_malformed_keys_are_not_found(store: BlobStore) -> None:
    missing = sha(b"never stored")

    for key in (missing, "not-a-sha256", "../../etc/passwd", missing.upper()):
        assert not store.exists(key)
        with pytest.raises(BlobNotFound):
            store.size(key)
        with pytest.raises(BlobNotFound):
            store.open(key)
        with pytest.raises(BlobNotFound):
            store.iter_range(key, 0, 10)


def test_delete_removes_a_blob_and_ignores_a_missing_one(store: BlobStore) -> None:
    keep, gone = store.put([b"keep"]), store.put([b"gone"])

    store.delete(gone.sha256)
    store.delete(gone.sha256)
    store.delete(sha(b"never stored"))

    assert not store.exists(gone.sha256)
    assert store.exists(keep.sha256)
    assert list(store.iter_keys()) == [keep.sha256]


def test_iter_range_returns_inclusive_slices(store: BlobStore) -> None:
    data = content(3 * CHUNK_SIZE + 100)
    size = len(data)
    key = store.put(io.BytesIO(data)).sha256

    def sliced(start: int, end: int | None) -> bytes:
        return b"".join(store.iter_range(key, start, end))

    assert sliced(0, 0) == data[:1]
    assert sliced(0, 9) == data[:10]
    assert sliced(10, None) == data[10:]
    assert sliced(CHUNK_SIZE - 5, CHUNK_SIZE + 5) == data[CHUNK_SIZE - 5 : CHUNK_SIZE + 6]
    assert sliced(size - 1, None) == data[-1:]
    assert sliced(size - 10, size + 1000) == data[-10:]  # end is clamped
    assert sliced(size, None) == b""
    assert sliced(size + 5, size + 10) == b""
    assert sliced(20, 10) == b""
    assert all(len(chunk) <= CHUNK_SIZE for chunk in store.iter_range(key))


def test_iter_range_of_an_empty_blob_is_empty(store: BlobStore) -> None:
    key = store.put([]).sha256

    assert b"".join(store.iter_range(key)) == b""
    assert b"".join(store.iter_range(key, 0, 10)) == b""


def test_iter_keys_lists_every_blob_once(store: BlobStore) -> None:
    stored = {store.put([f"blob {i}".encode()]).sha256 for i in range(25)}

    listed = list(store.iter_keys())

    assert sorted(listed) == sorted(stored)


# --- big streams, bounded memory -------------------------------------------------------------------


def test_a_200_mb_stream_round_trips_in_bounded_memory(store: BlobStore) -> None:
    source = Generated(200 * MiB)
    limit = 64 * MiB

    tracemalloc.start()
    try:
        info = store.put(source, max_bytes=300 * MiB)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        read = 0
        for chunk in store.iter_range(info.sha256):
            digest.update(chunk)
            read += len(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (info.sha256, info.size) == (source.digest.hexdigest(), 200 * MiB)
    assert (digest.hexdigest(), read) == (info.sha256, info.size)
    assert put_peak < limit, f"put peaked at {put_peak / MiB:.1f} MiB"
    assert read_peak < limit, f"read-back peaked at {read_peak / MiB:.1f} MiB"


# --- direct and signed download links -------------------------------------------------------------


def test_a_presigned_url_downloads_the_blob_where_the_backend_has_one(store: BlobStore) -> None:
    data = content(50_000)
    key = store.put([data]).sha256

    url = store.presigned_url(key, ttl=300, filename="cat photo.jpg")

    if isinstance(store, FilesystemStore):
        assert url is None
        return
    assert url is not None
    response = httpx.get(url, timeout=30, trust_env=False)
    assert response.status_code == 200
    assert response.content == data
    assert "cat photo.jpg" in response.headers["content-disposition"]


def test_a_signed_link_downloads_the_blob_on_every_backend(
    store: BlobStore, settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = content(10_000)
    key = store.put([data]).sha256
    monkeypatch.setattr(signing, "get_store", lambda: store)
    settings.BLOB_URL_TTL = 120
    request = RequestFactory().get("/api/v1/datasets/1/images/1")

    url = signing.blob_url(request, key, filename="x.png")

    if isinstance(store, S3Store):
        assert httpx.get(url, timeout=30, trust_env=False).content == data
        return
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "testserver",
        f"/api/v1/blobs/{key}",
    )
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert int(query["expires"]) - time.time() == pytest.approx(120, abs=5)
    monkeypatch.setattr("visionhub.storage.http.get_store", lambda: store)
    response = download_blob(
        RequestFactory().get(url),
        key,
        expires=int(query["expires"]),
        signature=query["signature"],
        filename=query["filename"],
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data  # type: ignore[attr-defined]
    assert response["Content-Disposition"] == 'attachment; filename="x.png"'


def signed_query(sha256: str, *, ttl: int = 60, filename: str | None = None) -> dict[str, str]:
    path = signing.signed_path(sha256, ttl=ttl, filename=filename)
    assert path.startswith(f"/api/v1/blobs/{sha256}?")
    return {name: values[0] for name, values in parse_qs(urlsplit(path).query).items()}


@pytest.mark.usefixtures("settings")
def test_a_signed_path_verifies_until_it_expires() -> None:
    key = sha(b"blob")
    query = signed_query(key, filename="report.pdf")

    signing.verify(key, int(query["expires"]), "report.pdf", query["signature"])


@pytest.mark.usefixtures("settings")
@pytest.mark.parametrize(
    "tamper",
    ["signature", "sha256", "filename", "dropped-filename", "expires"],
)
def test_a_tampered_signed_path_is_not_found(tamper: str) -> None:
    key = sha(b"blob")
    query = signed_query(key, filename="report.pdf")
    args: dict[str, object] = {
        "sha256": key,
        "expires": int(query["expires"]),
        "filename": "report.pdf",
        "signature": query["signature"],
    }
    if tamper == "signature":
        args["signature"] = query["signature"][:-1] + (
            "0" if query["signature"][-1] != "0" else "1"
        )
    elif tamper == "sha256":
        args["sha256"] = sha(b"another blob")
    elif tamper == "filename":
        args["filename"] = "report.exe"
    elif tamper == "dropped-filename":
        args["filename"] = None
    else:
        args["expires"] = int(query["expires"]) + 3600

    with pytest.raises(BlobNotFound):
        signing.verify(**args)  # type: ignore[arg-type]


def test_an_expired_or_foreign_key_signed_path_is_not_found(settings: SettingsWrapper) -> None:
    key = sha(b"blob")
    expired = signed_query(key, ttl=-1)
    with pytest.raises(BlobNotFound):
        signing.verify(key, int(expired["expires"]), None, expired["signature"])

    fresh = signed_query(key)
    settings.SECRET_KEY = "a-different-secret-key-for-another-deployment-000000"
    with pytest.raises(BlobNotFound):
        signing.verify(key, int(fresh["expires"]), None, fresh["signature"])


# --- garbage collection ---------------------------------------------------------------------------


def test_gc_deletes_only_unreferenced_blobs_past_the_grace_period(store: BlobStore) -> None:
    live, dead = store.put([b"live"]).sha256, store.put([b"dead"]).sha256

    assert collect_garbage({live}, store=store) == []  # both are younger than an hour
    assert collect_garbage(lambda: [live], grace_seconds=-60, dry_run=True, store=store) == [dead]
    assert store.exists(dead)

    assert collect_garbage(lambda: iter([live]), grace_seconds=-60, store=store) == [dead]

    assert not store.exists(dead)
    assert list(store.iter_keys()) == [live]


def test_putting_an_old_blob_again_protects_it_from_gc(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    key = store.put([b"old"]).sha256
    an_hour_ago = time.time() - 7200
    os.utime(store.path(key), (an_hour_ago, an_hour_ago))
    assert collect_garbage(set(), dry_run=True, store=store) == [key]

    store.put([b"old"])

    assert collect_garbage(set(), store=store) == []
    assert store.exists(key)


# --- configuration --------------------------------------------------------------------------------


def test_store_from_url_picks_the_backend_by_scheme(tmp_path: Path) -> None:
    on_disk = factory.store_from_url((tmp_path / "my blobs").as_uri())
    assert isinstance(on_disk, FilesystemStore)
    assert on_disk.root == tmp_path / "my blobs"

    in_bucket = factory.store_from_url(
        "s3://bucket/some/prefix/", endpoint_url="http://127.0.0.1:9"
    )
    assert isinstance(in_bucket, S3Store)
    assert (in_bucket.bucket, in_bucket.prefix) == ("bucket", "some/prefix")
    assert in_bucket.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert in_bucket.key("ab" + "0" * 62) == "some/prefix/ab/ab" + "0" * 62

    bare = factory.store_from_url("s3://bucket")
    assert isinstance(bare, S3Store)
    assert bare.key("cd" + "1" * 62) == "cd/cd" + "1" * 62

    for bad in ("http://example.com/blobs", "file://host/path", "s3:///no-bucket", "/just/a/path"):
        with pytest.raises(ImproperlyConfigured):
            factory.store_from_url(bad)


def test_get_store_is_built_once_from_the_settings(
    tmp_path: Path, settings: SettingsWrapper
) -> None:
    settings.STORAGE_URL = (tmp_path / "a").as_uri()
    first = factory.get_store()
    assert factory.get_store() is first
    assert isinstance(first, FilesystemStore)
    assert first.root == tmp_path / "a"

    settings.STORAGE_URL = (tmp_path / "b").as_uri()  # an override resets the cache

    second = factory.get_store()
    assert isinstance(second, FilesystemStore)
    assert second.root == tmp_path / "b"
    factory.reset_store_cache()
    assert factory.get_store() is not second

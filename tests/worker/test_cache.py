"""The worker's on-disk cache: verified by sha256, published atomically, images bounded (LRU)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from visionhub.worker.cache import IntegrityError, WorkerCache
from visionhub.worker.protocol import FileRef, InputSpec, ModelRef


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Origin:
    """Stands in for the blob URLs: serves ``content`` by URL and counts the downloads."""

    def __init__(self, content: dict[str, bytes]) -> None:
        self.content = content
        self.calls: Counter[str] = Counter()

    def download(self, url: str, dest: Path) -> None:
        self.calls[url] += 1
        dest.write_bytes(self.content[url])

    def fetch(self, url: str) -> bytes:
        self.calls[url] += 1
        return self.content[url]


def model(*files: tuple[str, bytes]) -> ModelRef:
    spec = InputSpec.from_json({"width": 2, "height": 2})
    refs = tuple(FileRef(name, sha(data), f"http://blobs/{name}") for name, data in files)
    return ModelRef(7, spec, ("a", "b"), refs)


def leftovers(cache: WorkerCache) -> list[Path]:
    return list((cache.root / "tmp").iterdir())


def test_a_model_file_is_downloaded_once_and_verified(tmp_path: Path) -> None:
    m = model(("model.onnx", b"onnx bytes"))
    origin = Origin({"http://blobs/model.onnx": b"onnx bytes"})
    cache = WorkerCache(tmp_path)
    path = cache.model_path(m, origin.download)
    assert path.read_bytes() == b"onnx bytes"
    assert cache.model_path(m, origin.download) == path
    assert WorkerCache(tmp_path).model_path(m, origin.download) == path  # a restart re-verifies
    assert origin.calls["http://blobs/model.onnx"] == 1
    assert leftovers(cache) == []


def test_content_that_fails_verification_is_discarded(tmp_path: Path) -> None:
    m = model(("model.onnx", b"the real model"))
    origin = Origin({"http://blobs/model.onnx": b"tampered model"})
    cache = WorkerCache(tmp_path)
    with pytest.raises(IntegrityError):
        cache.model_path(m, origin.download)
    assert list((tmp_path / "files").rglob("*")) == []
    assert leftovers(cache) == []
    origin.content["http://blobs/model.onnx"] = b"the real model"
    assert cache.model_path(m, origin.download).read_bytes() == b"the real model"


def test_a_file_damaged_on_disk_is_downloaded_again(tmp_path: Path) -> None:
    m = model(("model.onnx", b"good"))
    origin = Origin({"http://blobs/model.onnx": b"good"})
    path = WorkerCache(tmp_path).model_path(m, origin.download)
    path.write_bytes(b"bit rot")
    assert WorkerCache(tmp_path).model_path(m, origin.download).read_bytes() == b"good"
    assert origin.calls["http://blobs/model.onnx"] == 2


def test_external_data_files_sit_beside_the_model_under_their_names(tmp_path: Path) -> None:
    m = model(("notes.txt", b"ignored"), ("net.onnx", b"graph"), ("net.onnx.data", b"weights"))
    origin = Origin({"http://blobs/net.onnx": b"graph", "http://blobs/net.onnx.data": b"weights"})
    path = WorkerCache(tmp_path).model_path(m, origin.download)
    assert path.name == "net.onnx"
    assert (path.parent / "net.onnx.data").read_bytes() == b"weights"
    assert "http://blobs/notes.txt" not in origin.calls


def test_concurrent_requests_for_one_file_download_it_once(tmp_path: Path) -> None:
    m = model(("model.onnx", b"x" * 1000))
    origin = Origin({"http://blobs/model.onnx": b"x" * 1000})
    slow_download = origin.download

    def download(url: str, dest: Path) -> None:
        time.sleep(0.05)  # hold the download open while the other threads ask for it
        slow_download(url, dest)

    cache = WorkerCache(tmp_path)
    threads = [threading.Thread(target=cache.model_path, args=(m, download)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert origin.calls["http://blobs/model.onnx"] == 1


def images(count: int, size: int = 1000) -> dict[str, bytes]:
    return {f"http://blobs/img{i}": bytes([i]) * size for i in range(count)}


def test_images_are_cached_and_verified(tmp_path: Path) -> None:
    content = images(1)
    origin = Origin(content)
    cache = WorkerCache(tmp_path, admit_on_first_download=True)
    data = content["http://blobs/img0"]
    assert cache.image(sha(data), "http://blobs/img0", origin.fetch) == data
    assert cache.image(sha(data), "http://blobs/img0", origin.fetch) == data
    assert origin.calls["http://blobs/img0"] == 1
    with pytest.raises(IntegrityError):
        cache.image("0" * 64, "http://blobs/img0", origin.fetch)
    assert not (tmp_path / "images" / "00").exists()


def test_an_image_is_kept_from_its_second_download_on(tmp_path: Path) -> None:
    content = images(2)
    origin = Origin(content)
    cache = WorkerCache(tmp_path)
    once, twice = content["http://blobs/img0"], content["http://blobs/img1"]
    assert cache.image(sha(once), "http://blobs/img0", origin.fetch) == once
    for _ in range(4):
        assert cache.image(sha(twice), "http://blobs/img1", origin.fetch) == twice
    # Seen once: used, not written. Seen again: downloaded a second time and kept from then on.
    assert origin.calls == {"http://blobs/img0": 1, "http://blobs/img1": 2}
    on_disk = {p.name for p in (tmp_path / "images").rglob("*") if p.is_file()}
    assert on_disk == {sha(twice)}
    assert cache.image_bytes == len(twice)
    assert leftovers(cache) == []


def test_what_would_be_kept_is_verified_first(tmp_path: Path) -> None:
    content = images(1)
    origin = Origin(content)
    cache = WorkerCache(tmp_path)
    data = content["http://blobs/img0"]
    wrong = "0" * 64
    # Used once: not kept, so not hashed. Seen again: it would be kept, and it does not verify.
    assert cache.image(wrong, "http://blobs/img0", origin.fetch) == data
    with pytest.raises(IntegrityError):
        cache.image(wrong, "http://blobs/img0", origin.fetch)
    assert not any(p.is_file() for p in (tmp_path / "images").rglob("*"))
    assert leftovers(cache) == []


def test_the_record_of_images_seen_once_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("visionhub.worker.cache.SEEN_GENERATION", 3)
    content = images(10)
    origin = Origin(content)
    cache = WorkerCache(tmp_path)
    for url, data in content.items():
        cache.image(sha(data), url, origin.fetch)
    # The oldest images seen once were forgotten: seeing them again does not keep them.
    first = content["http://blobs/img0"]
    cache.image(sha(first), "http://blobs/img0", origin.fetch)
    assert not (tmp_path / "images" / sha(first)[:2] / sha(first)).exists()
    # The most recent ones are remembered.
    last = content["http://blobs/img9"]
    cache.image(sha(last), "http://blobs/img9", origin.fetch)
    assert (tmp_path / "images" / sha(last)[:2] / sha(last)).exists()


def test_the_image_cache_keeps_the_most_recently_used_within_its_bound(tmp_path: Path) -> None:
    content = images(5)
    origin = Origin(content)
    cache = WorkerCache(tmp_path, max_image_bytes=3000, admit_on_first_download=True)

    def get(i: int) -> None:
        url = f"http://blobs/img{i}"
        cache.image(sha(content[url]), url, origin.fetch)

    for i in range(3):
        get(i)
    get(0)  # 0 is now the most recently used: 1 goes first
    get(3)
    get(4)
    on_disk = {p.name for p in (tmp_path / "images").rglob("*") if p.is_file()}
    assert on_disk == {sha(content[f"http://blobs/img{i}"]) for i in (0, 3, 4)}
    assert cache.image_bytes == 3000
    get(0)
    assert origin.calls["http://blobs/img0"] == 1
    get(1)
    assert origin.calls["http://blobs/img1"] == 2


def test_the_bound_holds_across_a_restart_with_a_smaller_bound(tmp_path: Path) -> None:
    content = images(4)
    origin = Origin(content)
    cache = WorkerCache(tmp_path, max_image_bytes=10_000, admit_on_first_download=True)
    for url, data in content.items():
        cache.image(sha(data), url, origin.fetch)
    smaller = WorkerCache(tmp_path, max_image_bytes=2000)
    assert smaller.image_bytes == 2000
    assert len([p for p in (tmp_path / "images").rglob("*") if p.is_file()]) == 2


def test_an_image_larger_than_the_bound_is_used_but_not_kept(tmp_path: Path) -> None:
    content = images(1, size=5000)
    origin = Origin(content)
    cache = WorkerCache(tmp_path, max_image_bytes=1000, admit_on_first_download=True)
    data = content["http://blobs/img0"]
    assert cache.image(sha(data), "http://blobs/img0", origin.fetch) == data
    assert cache.image_bytes == 0
    assert leftovers(cache) == []

"""Model versions: numbered uploads checked against the file specs, downloads, deletion."""

from __future__ import annotations

import io
import tarfile
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from django.conf import settings
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error, unique
from tests.registry.support import create_model, push, push_ok, sha

from visionhub.registry.models import ModelFile, ModelVersion
from visionhub.registry.services import referenced_blobs
from visionhub.storage.factory import get_store

Committed = Callable[[], AbstractContextManager[None]]
SPECS = [
    {"name": "model.onnx", "required": True, "max_mb": 1},
    {"name": "labels.txt", "required": False, "max_mb": 0.01},
]


def _blob(label: str) -> bytes:
    """Content no other test uploads (the blob store is shared by the whole run)."""
    return f"{label} {unique('blob')}".encode()


def _model(person: Person) -> str:
    return create_model(person, files=SPECS)


def _state(committed: Committed, model: str, digests: list[str]) -> tuple[int, list[bool]]:
    """Versions of ``model`` in the database, and whether each blob is in the store."""
    with committed():
        count = ModelVersion.objects.filter(definition__name=model).count()
        return count, [get_store().exists(d) for d in digests]


def test_versions_are_numbered_and_record_their_files(alice: Person) -> None:
    model = _model(alice)
    first = push_ok(alice, model, {"model.onnx": b"weights-1", "labels.txt": b"cat\ndog\n"})
    assert first["version"] == 1
    assert first["model"] == model
    assert first["uploaded_by"] == alice.username
    assert sorted(first["files"], key=lambda f: f["name"]) == [
        {"name": "labels.txt", "sha256": sha(b"cat\ndog\n"), "size": 8},
        {"name": "model.onnx", "sha256": sha(b"weights-1"), "size": 9},
    ]
    second = push_ok(alice, model, {"model.onnx": b"weights-2"}, name="best", details={"acc": 0.9})
    assert (second["version"], second["name"], second["details"]) == (2, "best", {"acc": 0.9})
    assert alice.http.get(f"/models/{model}/versions/best").json()["version"] == 2
    assert alice.http.get(f"/models/{model}/versions/latest").json()["version"] == 2
    listed = alice.http.get(f"/models/{model}/versions").json()["items"]
    assert [v["version"] for v in listed] == [2, 1]
    assert alice.http.get(f"/models/{model}").json()["latest_version"] == 2


def test_concurrent_pushes_get_distinct_numbers(alice: Person) -> None:
    model = _model(alice)
    results: list[int] = []
    errors: list[Any] = []

    def upload(i: int) -> None:
        response = push(alice, model, {"model.onnx": f"w{i}".encode()})
        if response.status_code == 201:
            results.append(response.json()["version"])
        else:
            errors.append(response.text)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [1, 2, 3, 4, 5, 6]


def test_a_file_over_max_mb_is_cut_off_and_nothing_is_kept(
    alice: Person, committed: Committed
) -> None:
    model = _model(alice)
    ok = _blob("fine")
    big = b"x" * (1024 * 1024 + 1)
    response = push(alice, model, {"labels.txt": ok, "model.onnx": big})
    error = assert_error(response, 413, "file_too_large")
    assert error["details"]["file"] == "model.onnx"
    assert _state(committed, model, [sha(ok), sha(big)]) == (0, [False, False])
    # The connection stays usable after a refused upload.
    assert push_ok(alice, model, {"model.onnx": ok})["version"] == 1


def test_a_much_larger_file_is_refused_without_leaving_temp_files(
    alice: Person, committed: Committed
) -> None:
    model = _model(alice)
    huge = b"y" * (20 * 1024 * 1024)
    assert_error(push(alice, model, {"model.onnx": huge}), 413, "file_too_large")
    assert _state(committed, model, [sha(huge)]) == (0, [False])
    spool = Path(settings.FILE_UPLOAD_TEMP_DIR)
    assert not list(spool.glob("model-*.part"))


def test_a_missing_required_file_is_refused(alice: Person, committed: Committed) -> None:
    model = _model(alice)
    labels = _blob("only labels")
    assert_error(push(alice, model, {"labels.txt": labels}), 422, "missing_file")
    assert _state(committed, model, [sha(labels)]) == (0, [False])


def test_an_unknown_file_name_is_refused(alice: Person, committed: Committed) -> None:
    model = _model(alice)
    weights = _blob("weights unknown")
    error = assert_error(
        push(alice, model, {"model.onnx": weights, "extra.bin": b"?"}), 422, "unknown_file"
    )
    assert error["details"]["unknown"] == ["extra.bin"]
    assert _state(committed, model, [sha(weights)]) == (0, [False])


def test_a_file_sent_twice_is_refused(alice: Person) -> None:
    model = _model(alice)
    parts = [("files", ("model.onnx", b"a", "application/octet-stream"))] * 2
    response = alice.http.post(f"/models/{model}/versions", files=parts)
    assert_error(response, 422, "duplicate_file")


def test_bad_references_and_details_leave_nothing(
    alice: Person, charlie: Person, committed: Committed
) -> None:
    model = _model(alice)
    private = _model(charlie)
    push_ok(charlie, private, {"model.onnx": b"charlie's"})
    weights = _blob("weights with bad refs")
    cases = [
        ({"pretrained": "nope"}, 422, "invalid_model_ref"),
        ({"pretrained": f"{model}:7"}, 404, "version_not_found"),
        ({"pretrained": f"{private}:1"}, 404, "model_not_found"),
        ({"training": "999999"}, 404, "training_not_found"),
        ({"dataset": "no-such-dataset"}, 404, "dataset_not_found"),
        ({"details": "[1, 2"}, 422, "invalid_details"),
        ({"details": "[1, 2]"}, 422, "invalid_details"),
        ({"name": "Bad Name"}, 422, "invalid_name"),
        ({"name": "12"}, 422, "invalid_name"),
    ]
    for fields, status, code in cases:
        assert_error(push(alice, model, {"model.onnx": weights}, **fields), status, code)
    assert _state(committed, model, [sha(weights)]) == (0, [False])


def test_a_version_name_is_unique_per_model(alice: Person, committed: Committed) -> None:
    model = _model(alice)
    push_ok(alice, model, {"model.onnx": b"n1"}, name="prod")
    second = _blob("n2")
    assert_error(push(alice, model, {"model.onnx": second}, name="prod"), 409, "version_name_taken")
    assert _state(committed, model, [sha(second)]) == (1, [False])


def test_a_reader_cannot_push_but_a_writer_can(alice: Person, bob: Person) -> None:
    model = _model(alice)
    alice.http.post(f"/models/{model}/members", json={"username": bob.username})
    assert_error(push(bob, model, {"model.onnx": b"bob"}), 403, "read_only")
    alice.http.post(f"/models/{model}/members", json={"username": bob.username, "role": "write"})
    assert push_ok(bob, model, {"model.onnx": b"bob"})["uploaded_by"] == bob.username


def test_a_file_downloads_whole_or_by_range(alice: Person) -> None:
    model = _model(alice)
    content = bytes(range(256)) * 40
    push_ok(alice, model, {"model.onnx": content})
    url = f"/models/{model}/versions/1/files/model.onnx"
    whole = alice.http.get(url)
    assert whole.status_code == 200
    assert whole.content == content
    assert whole.headers["ETag"] == f'"{sha(content)}"'
    part = alice.http.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == content[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(content)}"
    tail = alice.http.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == content[-10:]
    assert_error(alice.http.get(url, headers={"Range": "bytes=99999-"}), 416, "invalid_range")
    assert_error(
        alice.http.get(f"/models/{model}/versions/1/files/nope.bin"), 404, "file_not_found"
    )


def test_the_archive_is_a_tar_gz_of_the_files(alice: Person) -> None:
    model = _model(alice)
    files = {"model.onnx": b"\x00\x01" * 5000, "labels.txt": b"cat\ndog\n"}
    push_ok(alice, model, files)
    response = alice.http.get(f"/models/{model}/versions/1/archive")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/gzip"
    assert f"{model}-1.tar.gz" in response.headers["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert members == files


def test_deleting_a_version_reclaims_only_unshared_blobs(
    alice: Person, committed: Committed
) -> None:
    model = _model(alice)
    shared, own = _blob("shared weights"), _blob("own labels")
    push_ok(alice, model, {"model.onnx": shared, "labels.txt": own})
    push_ok(alice, model, {"model.onnx": shared})
    assert alice.http.delete(f"/models/{model}/versions/1").status_code == 204
    assert _state(committed, model, [sha(shared), sha(own)]) == (1, [True, False])
    assert_error(alice.http.get(f"/models/{model}/versions/1"), 404, "version_not_found")
    # The next number is still one more than the highest existing.
    assert push_ok(alice, model, {"model.onnx": b"third"})["version"] == 3


def test_deleting_a_model_reclaims_its_blobs(alice: Person, committed: Committed) -> None:
    model = _model(alice)
    a, b = _blob("model blob a"), _blob("model blob b")
    push_ok(alice, model, {"model.onnx": a})
    push_ok(alice, model, {"model.onnx": b})
    assert alice.http.delete(f"/models/{model}").status_code == 204
    assert _state(committed, model, [sha(a), sha(b)]) == (0, [False, False])
    with committed():
        assert not ModelFile.objects.filter(sha256__in=[sha(a), sha(b)]).exists()


def test_a_version_can_be_renamed_and_its_details_replaced(alice: Person) -> None:
    model = _model(alice)
    push_ok(alice, model, {"model.onnx": b"r1"})
    response = alice.http.patch(
        f"/models/{model}/versions/1", json={"name": "stable", "details": {"k": 1}}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["details"]) == ("stable", {"k": 1})


def test_a_stranger_gets_404_on_every_version_endpoint(alice: Person, charlie: Person) -> None:
    model = _model(alice)
    push_ok(alice, model, {"model.onnx": b"secret weights"})
    base = f"/models/{model}/versions"
    calls = [
        charlie.http.get(base),
        push(charlie, model, {"model.onnx": b"intruder"}),
        charlie.http.get(f"{base}/1"),
        charlie.http.patch(f"{base}/1", json={"name": "x"}),
        charlie.http.delete(f"{base}/1"),
        charlie.http.get(f"{base}/1/files/model.onnx"),
        charlie.http.get(f"{base}/1/archive"),
        charlie.http.get(f"{base}/1/bundle"),
        charlie.http.get(f"{base}/1/lineage"),
    ]
    for response in calls:
        assert_error(response, 404, "model_not_found")
    assert alice.http.get(f"{base}/1").status_code == 200


def test_garbage_collection_keeps_every_model_file(
    server: LiveServer, alice: Person, committed: Committed
) -> None:
    model = _model(alice)
    kept = _blob("kept by gc")
    push_ok(alice, model, {"model.onnx": kept})
    with committed():
        assert sha(kept) in set(referenced_blobs())
    result = server.cli("gc", "--dry-run", "--grace-seconds", "0")
    assert sha(kept) not in result.stdout

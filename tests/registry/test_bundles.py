"""Export a version as one bundle and import it elsewhere, with its definition and lineage."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import LiveServer, Person, start_server
from tests.helpers import assert_error, unique
from tests.registry.support import create_model, push_ok, sha

from visionhub.client import Client
from visionhub.registry.models import ModelVersion
from visionhub.storage.factory import get_store

pytestmark = pytest.mark.process

Committed = Callable[[], AbstractContextManager[None]]
SPECS = [{"name": "model.onnx", "max_mb": 10}, {"name": "labels.txt", "required": False}]
WEIGHTS = b"fine-tuned weights " * 1000
LABELS = b"normal\npneumonia\n"


@pytest.fixture(scope="module")
def other_server(
    process_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A second server with its own SQLite database and blob store."""
    home = tmp_path_factory.mktemp("other-home")
    env = {
        **process_env,
        "VISIONHUB_HOME": str(home),
        "VISIONHUB_DATABASE_URL": f"sqlite:///{home / 'other.sqlite3'}",
        "VISIONHUB_STORAGE_URL": (home / "blobs").as_uri(),
    }
    live = start_server(env, home)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def lineage_pair(alice: Person) -> tuple[str, str, int]:
    """alice's ``base:1`` (made by a training) and ``fine:1`` pretrained on it."""
    base, fine = create_model(alice, files=SPECS), create_model(alice, files=SPECS)
    tid = alice.client.create_training("base-run")["id"]
    alice.client.report_progress(tid, 0.5)
    alice.client.report_progress(tid, 1.0, "FINISHED", accuracy=0.91)
    push_ok(alice, base, {"model.onnx": b"base weights"}, training=tid)
    push_ok(
        alice,
        fine,
        {"model.onnx": WEIGHTS, "labels.txt": LABELS},
        pretrained=f"{base}:1",
        name="best",
        details={"auc": 0.97},
    )
    return base, fine, tid


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        assert names[0] == "bundle.json"
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def test_a_bundle_holds_the_manifest_first_then_the_files(
    server: LiveServer, alice: Person, lineage_pair: tuple[str, str, int], tmp_path: Path
) -> None:
    base, fine, tid = lineage_pair
    out = tmp_path / "fine.bundle.tar.gz"
    server.cli(
        "model", "export", f"{fine}:best", "--out", str(out), env={"VISIONHUB_TOKEN": alice.token}
    )
    members = _members(out)
    assert members["files/model.onnx"] == WEIGHTS
    assert members["files/labels.txt"] == LABELS
    manifest = json.loads(members["bundle.json"])
    assert manifest["format"] == "visionhub-model-bundle"
    assert manifest["definition"]["name"] == fine
    assert manifest["definition"]["files"][0]["max_mb"] == 10
    assert manifest["version"]["version"] == 1
    assert manifest["version"]["pretrained"] == f"{base}:1"
    assert [(a["model"], a["version"]) for a in manifest["lineage"]] == [(base, 1)]
    assert manifest["lineage"][0]["training"]["id"] == tid


def test_a_bundle_recreates_the_version_on_another_server(
    server: LiveServer,
    other_server: LiveServer,
    alice: Person,
    lineage_pair: tuple[str, str, int],
    tmp_path: Path,
) -> None:
    base, fine, _ = lineage_pair
    out = tmp_path / "fine.bundle.tar.gz"
    server.cli(
        "model", "export", f"{fine}:1", "--out", str(out), env={"VISIONHUB_TOKEN": alice.token}
    )
    original = alice.client.get_version(fine, 1)

    other_server.cli("user", "create", "dora")
    token = other_server.cli("token", "create", "dora").stdout.strip().splitlines()[-1]
    done = other_server.cli("model", "import", str(out), env={"VISIONHUB_TOKEN": token})
    assert f"imported {fine}:1" in done.stdout

    with Client(other_server.url, token) as dora:
        copy = dora.get_version(fine, 1)
        for key in ("version", "name", "details", "files", "uploaded_on", "pretrained"):
            assert copy[key] == original[key], key
        assert copy["owner"] == "dora"
        definition = dora.get_model(fine)
        assert definition["input"] == alice.client.get_model(fine)["input"]
        assert definition["files"] == alice.client.get_model(fine)["files"]
        chain = dora.lineage(fine, 1)["chain"]
        assert [(c["model"], c["source"]) for c in chain] == [(fine, "live"), (base, "snapshot")]
        assert chain[1]["training_snapshot"]["details"] == {"accuracy": 0.91}
        pulled = dora.pull_model(fine, 1, tmp_path / "pulled")
        assert (tmp_path / "pulled" / "model.onnx").read_bytes() == WEIGHTS
        assert pulled["files"] == original["files"]


def test_export_delete_import_on_the_same_server_restores_blobs_and_live_lineage(
    alice: Person, lineage_pair: tuple[str, str, int], tmp_path: Path, committed: Committed
) -> None:
    base, _, _ = lineage_pair
    model = create_model(alice, files=SPECS)
    content = f"to be exported and restored {unique('c')}".encode()
    push_ok(alice, model, {"model.onnx": b"v1 of it"})
    push_ok(alice, model, {"model.onnx": content}, pretrained=f"{base}:1")
    bundle = tmp_path / "m.tar.gz"
    alice.client.export_model(model, 2, bundle)
    before = alice.client.get_version(model, 2)
    alice.client.delete_model(model)
    with committed():
        assert not get_store().exists(sha(content))

    restored = alice.client.import_model(bundle)
    assert (restored["model"], restored["version"]) == (model, 2)
    assert restored["files"] == before["files"]
    assert restored["uploaded_on"] == before["uploaded_on"]
    with committed():
        assert get_store().exists(sha(content))
    # alice still has base:1, identical: the parent is linked again, live.
    chain = alice.client.lineage(model, 2)["chain"]
    assert [(c["model"], c["source"]) for c in chain] == [(model, "live"), (base, "live")]
    # Numbering goes on after the imported number.
    assert push_ok(alice, model, {"model.onnx": b"after import"})["version"] == 3


def test_importing_a_version_that_exists_is_refused(
    alice: Person, lineage_pair: tuple[str, str, int], tmp_path: Path, committed: Committed
) -> None:
    _, fine, _ = lineage_pair
    bundle = tmp_path / "again.tar.gz"
    alice.client.export_model(fine, 1, bundle)
    with bundle.open("rb") as fh:
        response = alice.http.post("/models/import", files={"bundle": ("b.tar.gz", fh)})
    assert_error(response, 409, "version_exists")
    with committed():
        assert ModelVersion.objects.filter(definition__name=fine).count() == 1
    # Under another name it is a new model.
    copy = alice.client.import_model(bundle, name=unique("copy"))
    assert copy["version"] == 1


def _rebuild(source: Path, target: Path, change: Callable[[str, bytes], bytes]) -> None:
    with tarfile.open(source, "r:gz") as tar, tarfile.open(target, "w:gz") as out:
        for member in tar.getmembers():
            data = change(member.name, tar.extractfile(member).read())  # type: ignore[union-attr]
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def test_a_tampered_or_broken_bundle_is_refused_and_leaves_nothing(
    alice: Person, tmp_path: Path, committed: Committed
) -> None:
    model = create_model(alice, files=SPECS)
    genuine = f"genuine {unique('g')}".encode()
    push_ok(alice, model, {"model.onnx": genuine})
    good = tmp_path / "good.tar.gz"
    alice.client.export_model(model, 1, good)
    alice.client.delete_model(model)

    forged = f"forgery {unique('f')}".encode()
    tampered = tmp_path / "tampered.tar.gz"
    _rebuild(good, tampered, lambda name, data: forged if name == "files/model.onnx" else data)
    missing = tmp_path / "missing.tar.gz"

    def drop_files(name: str, data: bytes) -> bytes:
        if name != "bundle.json":
            return data
        manifest = json.loads(data)
        manifest["version"]["files"].append({"name": "labels.txt", "sha256": "0" * 64, "size": 3})
        return json.dumps(manifest).encode()

    _rebuild(good, missing, drop_files)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a tarball at all")

    cases = [
        (tampered, 422, "hash_mismatch"),
        (missing, 422, "invalid_bundle"),
        (garbage, 422, "invalid_bundle"),
    ]
    for path, status, code in cases:
        with path.open("rb") as fh:
            assert_error(
                alice.http.post("/models/import", files={"bundle": (path.name, fh)}), status, code
            )
    with committed():
        assert not ModelVersion.objects.filter(definition__name=model).exists()
        assert not get_store().exists(sha(forged))
        assert not get_store().exists(sha(genuine))
    assert_error(alice.http.get(f"/models/{model}"), 404)


def test_a_hand_edited_lineage_is_cleaned_on_import(alice: Person, tmp_path: Path) -> None:
    model = create_model(alice, files=SPECS)
    push_ok(alice, model, {"model.onnx": f"edited {unique('e')}".encode()})
    good = tmp_path / "edited-source.tar.gz"
    alice.client.export_model(model, 1, good)
    alice.client.delete_model(model)

    def junk_lineage(name: str, data: bytes) -> bytes:
        if name != "bundle.json":
            return data
        manifest = json.loads(data)
        manifest["version"]["pretrained"] = ["not", "a", "ref"]
        manifest["lineage"] = [
            "junk",
            {"model": 3, "version": "x"},
            {"model": "elsewhere", "version": 4, "files": [{"name": 1}], "training": "no"},
        ]
        return json.dumps(manifest).encode()

    edited = tmp_path / "edited.tar.gz"
    _rebuild(good, edited, junk_lineage)
    alice.client.import_model(edited)
    chain = alice.client.lineage(model, 1)["chain"]
    assert [(c["model"], c["version"], c["source"]) for c in chain] == [
        (model, 1, "live"),
        ("elsewhere", 4, "snapshot"),
    ]
    assert chain[1]["files"] == []
    assert alice.client.get_version(model, 1)["pretrained"] is None


def test_the_python_client_pushes_and_pulls_by_path(alice: Person, tmp_path: Path) -> None:
    model = create_model(alice, files=SPECS)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(WEIGHTS)
    sent: list[int] = []
    version = alice.client.push_model(
        model, {"model.onnx": weights}, details={"k": "v"}, progress=sent.append
    )
    assert sum(sent) == len(WEIGHTS)
    info: dict[str, Any] = alice.client.pull_model(model, version["version"], tmp_path / "out")
    assert info["details"] == {"k": "v"}
    assert (tmp_path / "out" / "model.onnx").read_bytes() == WEIGHTS

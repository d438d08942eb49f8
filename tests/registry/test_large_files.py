"""A 300 MB model file goes through the real server without the server holding it in memory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from tests.conftest import LiveServer, Person
from tests.registry.support import create_model

pytestmark = pytest.mark.process

SIZE = 300 * 1024 * 1024
CHUNK = 4 * 1024 * 1024


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (after the parenthesised command, which may hold spaces) is the parent pid.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _peak_kib(pids: list[int]) -> int:
    """The largest resident-memory high-water mark (VmHWM) among ``pids``."""
    peaks = [
        int(line.split()[1])
        for pid in pids
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    ]
    return max(peaks)


def _write_random(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        for _ in range(SIZE // CHUNK):
            chunk = os.urandom(CHUNK)
            digest.update(chunk)
            fh.write(chunk)
    return digest.hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_300_mb_file_round_trips_with_server_memory_far_below_its_size(
    server: LiveServer, alice: Person, tmp_path: Path
) -> None:
    model = create_model(alice, files=[{"name": "model.onnx", "max_mb": 400}])
    source = tmp_path / "model.onnx"
    expected = _write_random(source)
    assert server.process is not None
    workers = _children(server.process.pid)
    assert workers, "no gunicorn worker found"
    alice.http.get("/models")  # the worker has served a request: its baseline is realistic
    before = _peak_kib(workers)

    pushed = alice.client.push_model(model, [source])
    assert pushed["files"] == [{"name": "model.onnx", "sha256": expected, "size": SIZE}]
    source.unlink()
    out = tmp_path / "pulled"
    alice.client.pull_model(model, pushed["version"], out)
    assert _sha256_of(out / "model.onnx") == expected

    grown_mib = (_peak_kib(workers) - before) / 1024
    assert grown_mib < 60, f"server peak memory grew by {grown_mib:.0f} MiB for a 300 MiB file"

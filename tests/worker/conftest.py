"""Fixtures of the worker's live-server tests (the unit tests here need none of them)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import LiveServer, Person
from tests.factories import make_brightness_classifier
from tests.helpers import unique
from tests.worker.live import SIZE, Deployment, WorkerProcess


@pytest.fixture(scope="module")
def model_name(alice: Person) -> str:
    name = unique("brightness")
    spec = {"width": SIZE, "height": SIZE, "channels": 1, "layout": "NCHW"}
    response = alice.http.post(
        "/models", json={"name": name, "classes": ["dark", "bright"], "input": spec}
    )
    assert response.status_code == 201, response.text
    onnx = make_brightness_classifier(SIZE, SIZE, 1)
    response = alice.http.post(
        f"/models/{name}/versions",
        files={"files": ("model.onnx", onnx, "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    return name


@pytest.fixture
def deployment(alice: Person, model_name: str) -> Deployment:
    """A fresh deployment per test, so workers of one test never take another's requests."""
    name = unique("dep")
    response = alice.http.post(
        "/deployments", json={"name": name, "model": model_name, "version": 1}
    )
    assert response.status_code == 201, response.text
    return Deployment(name, alice)


@pytest.fixture
def start_worker(server: LiveServer, tmp_path: Path) -> Iterator[Any]:
    started: list[WorkerProcess] = []

    def start(token: str, *args: str) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(started)}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "visionhub",
                "worker",
                "--server",
                server.url,
                "--token",
                token,
                "--cache-dir",
                str(tmp_path / "cache"),
                *args,
            ],
            env=server.env,
            stdout=subprocess.DEVNULL,
            stderr=log_path.open("wb"),
        )
        worker = WorkerProcess(process, log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()

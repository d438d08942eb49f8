"""End to end: a detection deployment run over a dataset by real worker processes, one of them
killed with SIGKILL and the server restarted midway; every image is predicted into the Pred
label set exactly once. Then ``visionhub predict`` with its progress bar."""

from __future__ import annotations

import io
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count
from tests.conftest import LiveServer, Person
from tests.helpers import unique, wait_until
from tests.worker.detectors import make_rectangle_detector, output_spec, rectangle_image

pytestmark = [pytest.mark.slow, pytest.mark.process]

Committed = Callable[[], AbstractContextManager[None]]
W, H = 32, 24


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"VISIONHUB_LEASE_SECONDS": "3"}


@pytest.fixture
def start_worker(server: LiveServer, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(person: Person, deployment: str) -> subprocess.Popen[bytes]:
        log = tmp_path / f"worker-{len(started)}.log"
        command = [
            *(sys.executable, "-m", "visionhub", "worker", "--server", server.url),
            *("--token", person.token, "--deployment", deployment),
            *("--name", unique("w"), "--cache-dir", str(tmp_path / "cache")),
            *("--batch", "8", "--concurrency", "2", "--threads", "1", "--claim-wait", "2"),
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, env=server.env, stdout=out, stderr=subprocess.STDOUT
            )
        started.append((process, log))
        return process

    yield start
    for process, _ in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def deploy_detector(person: Person) -> str:
    model = unique("rects")
    body = {
        "name": model,
        "task": "detection",
        "classes": ["rect", "other"],
        "input": {"width": W, "height": H, "resize": "letterbox", "pad": [0, 0, 0]},
        "output": output_spec("raw"),
    }
    assert person.http.post("/models", json=body).status_code == 201
    onnx = make_rectangle_detector(W, H, shape="raw")
    files = [("files", ("model.onnx", onnx, "application/octet-stream"))]
    assert person.http.post(f"/models/{model}/versions", files=files).status_code == 201
    name = unique("run-dep")
    response = person.http.post("/deployments", json={"name": name, "model": model, "version": 1})
    assert response.status_code == 201, response.text
    return name


def make_dataset(
    committed: Committed, person: Person, n: int, seed: int
) -> tuple[str, dict[int, tuple[int, int, int, int]]]:
    """A dataset of ``n`` 64x48 images with one white rectangle each: its name, and each
    image's true box."""
    from visionhub.accounts.models import User
    from visionhub.datasets.services.datasets import create_dataset
    from visionhub.datasets.services.images import add_image

    rng = random.Random(seed)
    truth: dict[int, tuple[int, int, int, int]] = {}
    with committed():
        dataset = create_dataset(User.objects.get(pk=person.user_id), unique("rects"))
        for i in range(n):
            w, h = rng.randint(8, 30), rng.randint(8, 20)
            box = (rng.randint(0, 64 - w), rng.randint(0, 48 - h), w, h)
            image, _ = add_image(
                dataset, io.BytesIO(rectangle_image(64, 48, box)), filename=f"{i}.png"
            )
            truth[image.pk] = box
    return dataset.name, truth


def run_state(person: Person, deployment: str, run_id: int) -> dict[str, Any]:
    response = person.http.get(f"/deployments/{deployment}/runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def written(committed: Committed, label_set_id: int) -> dict[int, list[tuple[str, list[float]]]]:
    from visionhub.datasets.models import Annotation

    with committed():
        rows = Annotation.objects.filter(label_set_id=label_set_id).values_list(
            "image_id", "category__name", "bbox_x", "bbox_y", "bbox_w", "bbox_h"
        )
        found: dict[int, list[tuple[str, list[float]]]] = {}
        for image_id, category, *bbox in rows:
            found.setdefault(image_id, []).append((category, bbox))
        return found


def accepted_per_request(committed: Committed, run_id: int) -> set[int]:
    from visionhub.inference.models import ClassificationResult

    with committed():
        rows = (
            ClassificationResult.objects.filter(request__run_id=run_id, accepted=True)
            .values_list("request_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {n for _, n in rows}


def test_a_run_survives_a_killed_worker_and_a_server_restart(
    server: LiveServer,
    alice: Person,
    worker: Person,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    committed: Committed,
) -> None:
    deployment = deploy_detector(alice)
    name, truth = make_dataset(committed, alice, 300, seed=5)
    run = alice.client.create_run(deployment, name, "predicted")
    assert run["queued"] == 300

    workers = [start_worker(worker, deployment) for _ in range(2)]
    wait_until(lambda: run_state(alice, deployment, run["id"])["done"] >= 60, timeout=120)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(timeout=30)
    wait_until(lambda: run_state(alice, deployment, run["id"])["done"] >= 120, timeout=120)
    server.restart()
    wait_until(
        lambda: run_state(alice, deployment, run["id"])["status"] == "finished",
        timeout=180,
        interval=0.5,
    )

    final = run_state(alice, deployment, run["id"])
    assert (final["done"], final["failed"], final["pending"]) == (300, 0, 0)
    assert final["annotations"] == 600  # the rectangle, and its class-1 twin
    assert accepted_per_request(committed, run["id"]) == {1}
    found = written(committed, final["label_set_id"])
    assert sorted(found) == sorted(truth)
    for image_id, box in truth.items():
        labels = sorted(found[image_id])
        assert [label for label, _ in labels] == ["other", "rect"]
        assert labels[1][1] == pytest.approx(list(box), abs=3.0)


def test_visionhub_predict_shows_progress_and_a_second_time_predicts_nothing(
    server: LiveServer,
    alice: Person,
    worker: Person,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    committed: Committed,
) -> None:
    deployment = deploy_detector(alice)
    name, _ = make_dataset(committed, alice, 12, seed=6)
    start_worker(worker, deployment)

    def predict() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *(sys.executable, "-m", "visionhub", "predict", "--deployment", deployment),
                *("--dataset", name, "--label-set", "cli-preds"),
                *("--server", server.url, "--token", alice.token),
            ],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    first = predict()
    assert first.returncode == 0, first.stderr
    assert "12/12" in first.stderr  # the progress bar's last state
    assert first.stdout.strip().endswith(
        "12 done, 0 failed, 0 cancelled, 0 pending, 0 skipped; 24 annotations in 'cli-preds'"
    )
    again = predict()
    assert again.returncode == 0, again.stderr
    assert "0 done, 0 failed, 0 cancelled, 0 pending, 12 skipped; 0 annotations" in again.stdout

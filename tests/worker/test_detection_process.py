"""Detection and segmentation deployments served by real worker processes through the queue:
boxes and masks in the original image's pixels, in both output shapes; quorum by geometry
with two honest workers and one that shifts its boxes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.conftest import LiveServer, Person, PersonFactory
from tests.helpers import unique
from tests.worker.detectors import make_rectangle_detector, output_spec, rectangle_image
from tests.worker.live import Deployment

from visionhub.worker.postprocess import rle_decode

pytestmark = pytest.mark.process

W, H = 32, 24
CLASSES = ["rect", "other"]


def deploy_detector(
    owner: Person,
    shape: str,
    *,
    task: str = "detection",
    resize: str = "letterbox",
    replication: int = 1,
    quorum: int = 1,
) -> Deployment:
    name = unique("detector")
    body = {
        "name": name,
        "task": task,
        "classes": CLASSES,
        "input": {"width": W, "height": H, "resize": resize, "pad": [0, 0, 0]},
        "output": output_spec(shape, segmentation=task == "segmentation"),
    }
    response = owner.http.post("/models", json=body)
    assert response.status_code == 201, response.text
    onnx = make_rectangle_detector(W, H, shape=shape, masks=task == "segmentation")
    response = owner.http.post(
        f"/models/{name}/versions",
        files={"files": ("model.onnx", onnx, "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    deployment = {
        "name": unique("dep"),
        "model": name,
        "version": 1,
        "replication": replication,
        "quorum": quorum,
    }
    response = owner.http.post("/deployments", json=deployment)
    assert response.status_code == 201, response.text
    return Deployment(deployment["name"], owner)


BOXES = [(30, 12, 36, 24), (0, 0, 40, 48), (60, 20, 36, 10)]


@pytest.mark.parametrize(
    ("task", "shape", "resize"),
    [
        ("detection", "boxes", "letterbox"),
        ("detection", "raw", "stretch"),
        ("detection", "raw-objectness", "letterbox"),
        ("segmentation", "boxes", "stretch"),
        ("segmentation", "boxes-unbatched", "letterbox"),
        ("segmentation", "raw", "letterbox"),
    ],
)
def test_a_worker_answers_boxes_in_original_pixels(
    alice: Person, worker: Person, start_worker: Any, task: str, shape: str, resize: str
) -> None:
    deployment = deploy_detector(alice, shape, task=task, resize=resize)
    ids = [deployment.submit(rectangle_image(96, 48, box)) for box in BOXES]
    ids.append(deployment.submit(rectangle_image(50, 70, (0, 0, 0, 0))))  # nothing bright
    process = start_worker(
        worker.token, "--deployment", deployment.name, "--max-jobs", str(len(ids)), "--batch", "3"
    )
    assert process.wait() == 0, process.log()
    results = [deployment.result(i) for i in ids]
    assert [r["status"] for r in results] == ["completed"] * len(ids), results
    for truth, body in zip(BOXES, results, strict=False):
        detections = body["result"]["detections"]
        assert body["result"]["label"] is None
        best = detections[0]
        assert (best["label"], best["score"]) == ("rect", pytest.approx(0.9))
        assert best["box"] == pytest.approx(list(truth), abs=3.0)
        if task == "segmentation":
            mask = rle_decode(best["mask"])
            assert mask.shape == (48, 96)
            x, y, w, h = truth
            # Torchvision-style masks cover the left half of their box (see detectors.py);
            # YOLO-style ones the whole box (their prototypes are 1 everywhere).
            right = x + w if shape.startswith("raw") else x + w // 2
            assert mask[y + 1 : y + h - 1, x + 1 : right - 2].all()
            assert not mask[:, right + 3 :].any()
            assert not np.any(mask[: max(0, y - 3)])
        else:
            assert best["mask"] is None
    assert results[-1]["result"]["detections"] == []


def test_two_honest_workers_outvote_one_that_shifts_its_boxes(
    alice: Person, make_person: PersonFactory, start_worker: Any
) -> None:
    deployment = deploy_detector(alice, "raw", replication=3, quorum=2)
    liar = make_person("liar", worker=True)
    honest = [make_person("honest", worker=True) for _ in range(2)]
    ids = [deployment.submit(rectangle_image(96, 48, box)) for box in BOXES]

    lied = lie(liar, deployment.name, len(ids))
    assert lied == len(ids)
    processes = [
        start_worker(p.token, "--deployment", deployment.name, "--max-jobs", str(len(ids)))
        for p in honest
    ]
    for process in processes:
        assert process.wait() == 0, process.log()
    for truth, request_id in zip(BOXES, ids, strict=True):
        body = deployment.result(request_id, wait=30)
        assert body["status"] == "completed", body
        assert body["result"]["detections"][0]["box"] == pytest.approx(list(truth), abs=3.0)
    workers = alice.http.get(f"/deployments/{deployment.name}/stats").json()["live_workers"]
    rates = {w["owner"]: w["agreement_rate"] for w in workers}
    assert rates[liar.username] == 0.0
    assert rates[honest[0].username] == rates[honest[1].username] == 1.0


def test_classify_prints_the_boxes(
    alice: Person, worker: Person, start_worker: Any, server: LiveServer, tmp_path: Path
) -> None:
    deployment = deploy_detector(alice, "raw")
    image = tmp_path / "rect.png"
    image.write_bytes(rectangle_image(96, 48, BOXES[0]))
    process = start_worker(worker.token, "--deployment", deployment.name, "--max-jobs", "1")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "visionhub",
            "classify",
            "--deployment",
            deployment.name,
            str(image),
            "--wait",
            "--server",
            server.url,
            "--token",
            alice.token,
        ],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert process.wait() == 0, process.log()
    first, *boxes = done.stdout.strip().splitlines()
    assert first == f"{image}\t2 detections"
    label, score, box = boxes[0].strip().split("\t")
    assert (label, score) == ("rect", "0.900")
    assert [float(v) for v in box.split(",")] == pytest.approx(list(BOXES[0]), abs=3.0)
    assert boxes[1].strip().startswith("other\t0.500")


def lie(liar: Person, deployment: str, count: int) -> int:
    """Claim ``count`` jobs and answer each with the rectangle 20 pixels to the right."""
    claimed = liar.http.post(
        "/worker/claim",
        json={"max": count, "wait": 10, "deployments": [deployment], "worker": {"name": "liar"}},
    ).json()["jobs"]
    fake: list[dict[str, Any]] = [
        {"label": "rect", "score": 0.9, "box": [x + 20.0, y, w, h]} for x, y, w, h in BOXES
    ]
    results = [
        {
            "request_id": job["request_id"],
            "dispatch_token": job["dispatch_token"],
            "detections": [d],
        }
        for job, d in zip(claimed, fake, strict=False)
    ]
    answer = liar.http.post("/worker/results", json={"results": results})
    assert answer.status_code == 200, answer.text
    return sum(r["status"] == "accepted" for r in answer.json()["results"])


def test_synchronous_predict_answers_the_boxes_and_masks(
    alice: Person, worker: Person, start_worker: Any
) -> None:
    deployment = deploy_detector(alice, "boxes", task="segmentation")
    process = start_worker(worker.token, "--deployment", deployment.name, "--max-jobs", "1")
    answer = alice.client.predict(deployment.name, rectangle_image(96, 48, BOXES[0]), timeout=60)
    assert process.wait() == 0, process.log()
    assert answer["status"] == "completed", answer
    [found] = answer["result"]["detections"]
    assert found["box"] == pytest.approx(list(BOXES[0]), abs=3.0)
    assert rle_decode(found["mask"]).any()

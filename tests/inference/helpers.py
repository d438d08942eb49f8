"""Helpers of the inference tests: deployments and dataset images, made in-process (for the
queue's service tests) or through the API (for the live-server tests)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image as PILImage
from tests.conftest import Person
from tests.factories import make_brightness_classifier
from tests.helpers import unique

from visionhub.accounts import services as accounts
from visionhub.accounts.models import User
from visionhub.inference import queue, services
from visionhub.inference.models import ClassificationRequest, Worker
from visionhub.registry.models import Deployment, ModelDefinition, ModelFile, ModelVersion

SIZE = 8
INPUT = {"width": SIZE, "height": SIZE, "channels": 1, "layout": "NCHW"}
CLASSES = ["dark", "bright"]


# --- in-process (pure service tests with the ``db`` fixture) -----------------------------------


def make_user(name: str = "user", *, worker: bool = False, staff: bool = False) -> User:
    return accounts.create_user(unique(name), worker=worker, staff=staff)


def make_deployment(
    owner: User, *, replication: int = 1, quorum: int = 1, classes: Sequence[str] = CLASSES
) -> Deployment:
    """A deployment of a one-file model version, made with the ORM (no blob behind the file)."""
    definition = ModelDefinition.objects.create(
        owner=owner, name=unique("model"), classes=list(classes), input_spec=dict(INPUT)
    )
    version = ModelVersion.objects.create(definition=definition, version=1)
    ModelFile.objects.create(version=version, name="model.onnx", sha256="0" * 64, size=1)
    return Deployment.objects.create(
        name=unique("deploy"),
        owner=owner,
        model_version=version,
        replication=replication,
        quorum=quorum,
    )


def fake_sha(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def submit(
    deployment: Deployment, by: User, n: int = 1, *, priority: int = 0
) -> list[ClassificationRequest]:
    return [
        services.submit_blob(deployment, fake_sha(i), by=by, priority=priority) for i in range(n)
    ]


def worker_of(user: User, name: str = "w1") -> Worker:
    return queue.register_worker(user, name=name, version="test")


def claim(user: User, n: int = 1, *, name: str = "w1", **kwargs: Any) -> list[queue.Claimed]:
    return queue.claim(user, worker_of(user, name), limit=n, **kwargs)


def answer(claimed: queue.Claimed, label: str | None = "bright", **kwargs: Any) -> queue.Answer:
    return queue.Answer(claimed.request_id, claimed.dispatch_token, label=label, **kwargs)


def reload(request_id: int) -> ClassificationRequest:
    return ClassificationRequest.objects.get(pk=request_id)


# --- through the API (live-server tests) ----------------------------------------------------------


def deploy(person: Person, *, replication: int = 1, quorum: int = 1) -> str:
    """A brightness classifier (``dark``/``bright``) deployed by ``person``; its name."""
    model = unique("brightness")
    response = person.http.post("/models", json={"name": model, "classes": CLASSES, "input": INPUT})
    assert response.status_code == 201, response.text
    onnx = make_brightness_classifier(SIZE, SIZE, 1)
    files = [("files", ("model.onnx", onnx, "application/octet-stream"))]
    response = person.http.post(f"/models/{model}/versions", files=files)
    assert response.status_code == 201, response.text
    name = unique("deploy")
    response = person.http.post(
        "/deployments",
        json={
            "name": name,
            "model": model,
            "version": 1,
            "replication": replication,
            "quorum": quorum,
        },
    )
    assert response.status_code == 201, response.text
    return name


def gray_png(level: int, *, marker: int = 0) -> bytes:
    """An 8x8 grayscale PNG of brightness ``level``; ``marker`` makes its bytes unique."""
    pixels = np.full((SIZE, SIZE), level, dtype=np.uint8)
    pixels[0, 0] = marker % 256
    pixels[0, 1] = (marker // 256) % 256
    buffer = io.BytesIO()
    PILImage.fromarray(pixels, "L").save(buffer, format="PNG")
    return buffer.getvalue()


def true_label(png: bytes) -> str:
    """What the brightness classifier answers for ``png``: bright when the mean is above 0.5."""
    pixels = np.asarray(PILImage.open(io.BytesIO(png)).convert("L"), dtype=np.float64) / 255.0
    return "bright" if pixels.mean() > 0.5 else "dark"


def upload_images(person: Person, images: Sequence[bytes]) -> tuple[int, list[int]]:
    """A new dataset of ``person`` holding ``images``; its id and the images' ids in order."""
    response = person.http.post("/datasets", json={"name": unique("ds")})
    assert response.status_code == 201, response.text
    dataset_id: int = response.json()["id"]
    ids: list[int] = []
    for i, content in enumerate(images):
        files = {"file": (f"img-{i}.png", content, "image/png")}
        response = person.http.post(f"/datasets/{dataset_id}/images", files=files)
        assert response.status_code in (200, 201), response.text
        ids.append(response.json()["id"])
    return dataset_id, ids

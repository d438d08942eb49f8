"""The Python client's inference methods (``Client.classify`` & co.) against a real server, with
a real worker process answering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Person
from tests.helpers import unique
from tests.worker.live import Deployment, grey

from visionhub.client import ClientError

pytestmark = pytest.mark.process


def test_classify_a_file_and_wait_for_its_result(
    worker: Person, deployment: Deployment, start_worker: Any, tmp_path: Path
) -> None:
    image = tmp_path / "photo.jpg"  # a PNG with the wrong name: only the bytes count
    image.write_bytes(grey(230))
    client = deployment.owner.client
    queued = client.classify(deployment.name, image)
    assert queued["status"] == "pending"
    process = start_worker(worker.token, "--deployment", deployment.name, "--max-jobs", "1")
    done = client.get_classification(queued["id"], wait=30)
    assert done["status"] == "completed"
    assert done["result"]["label"] == "bright"
    assert process.wait() == 0


def test_predict_answers_at_once_when_a_worker_is_there_and_202_otherwise(
    worker: Person, deployment: Deployment, start_worker: Any
) -> None:
    client = deployment.owner.client
    waiting = client.predict(deployment.name, grey(10), timeout=0.5)
    assert waiting["status"] == "pending"  # no worker yet: the id, to poll later
    process = start_worker(worker.token, "--deployment", deployment.name, "--max-jobs", "2")
    answered = client.predict(deployment.name, grey(20), timeout=30)
    assert answered["status"] == "completed"
    assert answered["result"]["label"] == "dark"
    assert process.wait() == 0


def test_cancel_a_pending_classification(deployment: Deployment) -> None:
    client = deployment.owner.client
    queued = client.classify(deployment.name, grey(50))
    assert client.cancel_classification(queued["id"])["status"] == "cancelled"
    assert client.get_classification(queued["id"])["status"] == "cancelled"


def test_classify_dataset_images_in_bulk(deployment: Deployment) -> None:
    owner = deployment.owner
    dataset = owner.http.post("/datasets", json={"name": unique("ds")}).json()
    image_ids = []
    for level in (10, 240, 128):
        response = owner.http.post(
            f"/datasets/{dataset['id']}/images",
            files={"file": (f"{level}.png", grey(level), "image/png")},
        )
        assert response.status_code in (200, 201), response.text
        image_ids.append(response.json()["id"])
    ids = owner.client.classify_dataset_images(deployment.name, image_ids)
    assert len(ids) == 3
    one = owner.client.classify(deployment.name, image_ids[0])  # an int: a dataset image id
    requests = [owner.client.get_classification(i) for i in [*ids, one["id"]]]
    assert {r["status"] for r in requests} == {"pending"}
    assert requests[0]["image_id"] == requests[3]["image_id"] == image_ids[0]


def test_a_stranger_cannot_classify_with_someone_elses_deployment(
    charlie: Person, deployment: Deployment
) -> None:
    with pytest.raises(ClientError) as raised:
        charlie.client.classify(deployment.name, grey(1))
    assert raised.value.status == 404

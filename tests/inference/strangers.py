"""The inference rows of the stranger matrix (``tests/strangers.py``): alice's deployment and
her classification request."""

from __future__ import annotations

from typing import Any

from tests.conftest import Person
from tests.inference.helpers import deploy, gray_png, upload_images
from tests.strangers import Hidden, Open, Row


def world(alice: Person, admin: Person) -> dict[str, Any]:
    deployment = deploy(alice)
    dataset, images = upload_images(alice, [gray_png(200, marker=991)])
    submitted = alice.http.post(
        "/classifications", json={"deployment": deployment, "image_id": images[0]}
    )
    assert submitted.status_code == 202, submitted.text
    run = alice.http.post(
        f"/deployments/{deployment}/runs", json={"dataset": dataset, "label_set": "run"}
    )
    assert run.status_code == 202, run.text
    return {
        "deployment": deployment,
        "dataset": dataset,
        "image_id": images[0],
        "request_id": submitted.json()["id"],
        "run_id": run.json()["id"],
    }


PNG = {"file": ("x.png", gray_png(10, marker=992), "image/png")}
WORKERS = "inference/test_worker_protocol_api.py"

ROWS: list[Row] = [
    Hidden(
        "POST",
        "/classifications",
        "deployment_not_found",
        data=lambda w: {"deployment": w["deployment"]},
        files=PNG,
    ),
    Hidden(
        "POST",
        "/classifications/batch",
        "deployment_not_found",
        json=lambda w: {"deployment": w["deployment"], "image_ids": [w["image_id"]]},
    ),
    Open(
        "GET",
        "/classifications",
        "lists charlie's own requests",
        "inference/test_classifications_api.py",
    ),
    Hidden("GET", "/classifications/{request_id}", "classification_not_found"),
    Hidden("POST", "/classifications/{request_id}/cancel", "classification_not_found"),
    Hidden(
        "POST",
        "/classifications/save-label-set",
        "deployment_not_found",
        json=lambda w: {
            "deployment": w["deployment"],
            "dataset": w["dataset"],
            "label_set_name": "x",
        },
    ),
    Hidden(
        "POST",
        "/deployments/{name}/predict",
        "deployment_not_found",
        fill={"name": "deployment"},
        files=PNG,
        params={"timeout": 0},
    ),
    Hidden("GET", "/deployments/{name}/stats", "deployment_not_found", fill={"name": "deployment"}),
    Hidden(
        "POST",
        "/deployments/{name}/runs",
        "deployment_not_found",
        fill={"name": "deployment"},
        json=lambda w: {"dataset": w["dataset"], "label_set": "x"},
    ),
    Hidden(
        "GET", "/deployments/{name}/runs/{run_id}", "run_not_found", fill={"name": "deployment"}
    ),
    Hidden(
        "POST",
        "/deployments/{name}/runs/{run_id}/cancel",
        "run_not_found",
        fill={"name": "deployment"},
    ),
    Open(
        "POST",
        "/worker/claim",
        "names no one's thing; a user who is not a worker gets 403",
        WORKERS,
    ),
    Open("POST", "/worker/heartbeat", "only extends the caller's own leases", WORKERS),
    Open("POST", "/worker/results", "only answers the caller's own leases", WORKERS),
    Open("POST", "/worker/release", "only gives back the caller's own leases", WORKERS),
]

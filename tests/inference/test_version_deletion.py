"""A model version that classified images can be deleted once nothing waits on it; the
classifications keep their results and name the version they were routed to."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from tests.conftest import Person
from tests.factories import make_brightness_classifier
from tests.helpers import assert_error
from tests.inference.helpers import SIZE, deploy, gray_png

from visionhub.inference.models import ClassificationRequest


def test_a_version_is_deletable_once_its_classifications_are_done(
    alice: Person,
    worker: Person,
    charlie: Person,
    committed: Callable[[], AbstractContextManager[None]],
) -> None:
    name = deploy(alice)
    model = alice.http.get(f"/deployments/{name}").json()["model"]
    files = [("files", ("model.onnx", make_brightness_classifier(SIZE, SIZE, 1), "x/onnx"))]
    assert alice.http.post(f"/models/{model}/versions", files=files).status_code == 201
    submitted = alice.http.post(
        "/classifications",
        data={"deployment": name},
        files={"file": ("x.png", gray_png(250), "image/png")},
    ).json()["id"]
    # The request was routed to version 1; rolling the deployment out to 2 does not change it.
    assert alice.http.patch(f"/deployments/{name}", json={"version": 2}).status_code == 200

    refused = alice.http.delete(f"/models/{model}/versions/1")
    assert_error(refused, 409, "version_in_use")
    assert refused.json()["error"]["details"] == {"open_classifications": 1}
    assert_error(charlie.http.delete(f"/models/{model}/versions/1"), 404, "model_not_found")

    [job] = worker.http.post(
        "/worker/claim", json={"max": 1, "wait": 10, "deployments": [name]}
    ).json()["jobs"]
    assert job["model"]["version_id"] is not None
    done = worker.http.post(
        "/worker/results",
        json={
            "results": [
                {
                    "request_id": job["request_id"],
                    "dispatch_token": job["dispatch_token"],
                    "label": "bright",
                    "scores": {"bright": 0.9, "dark": 0.1},
                }
            ]
        },
    )
    assert done.status_code == 200, done.text

    assert alice.http.delete(f"/models/{model}/versions/1").status_code == 204
    kept = alice.http.get(f"/classifications/{submitted}").json()
    assert kept["status"] == "completed"
    assert kept["result"]["label"] == "bright"
    with committed():
        request = ClassificationRequest.objects.get(pk=submitted)
        assert request.model_version_id is None
        assert request.model_ref == f"{model}:1"

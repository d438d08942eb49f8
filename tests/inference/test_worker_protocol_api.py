"""The worker protocol over HTTP (PRODUCT.md §5): claim, heartbeat, results, release."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import pytest
from tests.conftest import Person, PersonFactory
from tests.factories import make_png
from tests.helpers import assert_error, wait_until
from tests.inference.helpers import CLASSES, INPUT, deploy

LEASE_SECONDS = 2


@pytest.fixture(scope="module")
def server_settings() -> dict[str, Any]:
    return {"LEASE_SECONDS": LEASE_SECONDS}


@pytest.fixture
def deployment(alice: Person) -> str:
    return deploy(alice)


def classify(person: Person, deployment: str, content: bytes | None = None) -> int:
    files = {"file": ("x.png", content or make_png(16, 16), "image/png")}
    response = person.http.post("/classifications", data={"deployment": deployment}, files=files)
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def claim(person: Person, deployment: str, n: int = 1, **extra: Any) -> list[dict[str, Any]]:
    response = person.http.post(
        "/worker/claim", json={"max": n, "deployments": [deployment], **extra}
    )
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["jobs"]
    return jobs


def result(job: dict[str, Any], label: str = "bright", **extra: Any) -> dict[str, Any]:
    return {
        "request_id": job["request_id"],
        "dispatch_token": job["dispatch_token"],
        "label": label,
        **extra,
    }


def send(person: Person, *results: dict[str, Any]) -> list[tuple[str, str | None]]:
    response = person.http.post("/worker/results", json={"results": list(results)})
    assert response.status_code == 200, response.text
    return [(r["status"], r["reason"]) for r in response.json()["results"]]


def test_a_claim_hands_out_the_job_with_its_model_and_image(
    alice: Person, worker: Person, deployment: str
) -> None:
    image = make_png(16, 16)
    request_id = classify(alice, deployment, image)

    response = worker.http.post(
        "/worker/claim",
        json={
            "max": 4,
            "wait": 0,
            "deployments": [deployment],
            "worker": {"name": "gpu-1", "version": "0.1", "site": "lab", "flavor": "large"},
        },
    )

    assert response.status_code == 200, response.text
    [job] = response.json()["jobs"]
    assert set(job) == {"request_id", "dispatch_token", "lease_expires_at", "model", "image"}
    assert job["request_id"] == request_id
    assert set(job["model"]) == {"version_id", "input", "task", "output", "classes", "files"}
    assert (job["model"]["task"], job["model"]["output"]) == ("classification", None)
    assert job["model"]["classes"] == CLASSES
    assert {k: job["model"]["input"][k] for k in INPUT} == INPUT
    [model_file] = job["model"]["files"]
    assert model_file["name"] == "model.onnx"
    onnx = alice.server.get(model_file["url"])
    assert hashlib.sha256(onnx.content).hexdigest() == model_file["sha256"]
    downloaded = alice.server.get(job["image"]["url"])
    assert downloaded.content == image
    assert job["image"]["sha256"] == hashlib.sha256(image).hexdigest()
    assert alice.http.get(f"/classifications/{request_id}").json()["status"] == "assigned"


def test_only_workers_may_use_the_protocol(charlie: Person, alice: Person) -> None:
    for path, body in [
        ("/worker/claim", {"max": 1}),
        ("/worker/heartbeat", {"leases": []}),
        ("/worker/results", {"results": []}),
        ("/worker/release", {"leases": []}),
    ]:
        assert_error(charlie.http.post(path, json=body), 403, "not_a_worker")
        assert_error(alice.http.post(path, json=body), 403, "not_a_worker")


def test_the_protocol_needs_a_token(anonymous: httpx.Client) -> None:
    assert_error(anonymous.post("/worker/claim", json={"max": 1}), 401, "unauthorized")


def test_a_claim_with_nothing_queued_answers_no_jobs(worker: Person, deployment: str) -> None:
    started = time.monotonic()
    assert claim(worker, deployment, wait=0.3) == []
    assert 0.25 < time.monotonic() - started < 5


def test_forged_reused_other_workers_and_late_tokens_are_rejected(
    alice: Person, worker: Person, make_person: PersonFactory, deployment: str
) -> None:
    other = make_person("other-worker", worker=True)
    classify(alice, deployment)
    classify(alice, deployment)
    first, second = claim(worker, deployment, 2)

    assert send(worker, {**result(first), "dispatch_token": "vhd_" + "x" * 43}) == [
        ("rejected", "invalid_token")
    ]
    assert send(other, result(first)) == [("rejected", "invalid_token")]
    assert send(worker, result(first, "dark")) == [("accepted", None)]
    assert send(worker, result(first, "bright")) == [("rejected", "already_submitted")]
    assert (
        alice.http.get(f"/classifications/{first['request_id']}").json()["result"]["label"]
        == "dark"
    )

    # The second lease runs out; another worker takes the request over.
    def taken_over() -> list[dict[str, Any]]:
        return claim(other, deployment)

    [again] = wait_until(taken_over, timeout=LEASE_SECONDS * 5)
    assert again["request_id"] == second["request_id"]
    assert send(worker, result(second)) == [("rejected", "lease_lost")]
    assert send(other, result(again, "dark")) == [("accepted", None)]
    body = alice.http.get(f"/classifications/{second['request_id']}").json()
    assert (body["status"], body["attempts"]) == ("completed", 2)
    assert body["errors"][0]["error"] == "lease expired"


def test_a_heartbeat_keeps_the_lease_past_its_first_expiry(
    alice: Person, worker: Person, make_person: PersonFactory, deployment: str
) -> None:
    other = make_person("other-worker", worker=True)
    request_id = classify(alice, deployment)
    [job] = claim(worker, deployment)
    lease = {"request_id": job["request_id"], "dispatch_token": job["dispatch_token"]}
    deadline = time.monotonic() + LEASE_SECONDS * 2

    while time.monotonic() < deadline:
        response = worker.http.post("/worker/heartbeat", json={"leases": [lease]})
        [answer] = response.json()["leases"]
        assert answer["status"] == "extended", answer
        assert answer["lease_expires_at"] is not None
        assert claim(other, deployment) == []
        time.sleep(LEASE_SECONDS / 4)

    assert send(worker, result(job)) == [("accepted", None)]
    assert alice.http.get(f"/classifications/{request_id}").json()["attempts"] == 1


def test_release_gives_the_job_back_at_once(
    alice: Person, worker: Person, make_person: PersonFactory, deployment: str
) -> None:
    other = make_person("other-worker", worker=True)
    request_id = classify(alice, deployment)
    [job] = claim(worker, deployment)
    lease = {"request_id": job["request_id"], "dispatch_token": job["dispatch_token"]}

    response = worker.http.post("/worker/release", json={"leases": [lease]})

    assert response.json()["leases"][0]["status"] == "released"
    [again] = claim(other, deployment)
    assert again["request_id"] == request_id
    assert send(worker, result(job)) == [("rejected", "lease_lost")]
    assert alice.http.get(f"/classifications/{request_id}").json()["attempts"] == 1


def test_a_worker_error_is_recorded_and_the_request_retried(
    alice: Person, worker: Person, deployment: str
) -> None:
    request_id = classify(alice, deployment)
    [job] = claim(worker, deployment)

    errored = {"request_id": job["request_id"], "dispatch_token": job["dispatch_token"]}
    assert send(worker, {**errored, "error": "cannot decode"}) == [("accepted", None)]

    body = alice.http.get(f"/classifications/{request_id}").json()
    assert body["status"] == "pending"
    assert [e["error"] for e in body["errors"]] == ["cannot decode"]
    assert claim(worker, deployment)[0]["request_id"] == request_id


def test_a_result_with_an_unknown_label_is_rejected(
    alice: Person, worker: Person, deployment: str
) -> None:
    classify(alice, deployment)
    [job] = claim(worker, deployment)

    assert send(worker, result(job, "unicorn")) == [("rejected", "invalid_result")]
    assert send(worker, result(job, "dark", scores=[0.7, 0.3])) == [("accepted", None)]


def test_a_malformed_call_is_a_validation_error(worker: Person) -> None:
    assert_error(worker.http.post("/worker/results", json={"results": [{}]}), 422)
    assert_error(worker.http.post("/worker/claim", json={"max": 0}), 422)
    too_many = [{"request_id": 1, "dispatch_token": "x"}] * 1001
    assert_error(worker.http.post("/worker/heartbeat", json={"leases": too_many}), 422)

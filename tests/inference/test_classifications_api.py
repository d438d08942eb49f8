"""Submitting and reading classifications over HTTP, against a live server."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from tests.conftest import Person
from tests.factories import make_png
from tests.helpers import assert_error
from tests.inference.helpers import deploy, gray_png, upload_images

SUMMARY_KEYS = {
    "id",
    "status",
    "deployment",
    "image_sha256",
    "image_id",
    "priority",
    "result",
    "errors",
    "attempts",
    "created_at",
    "assigned_at",
    "completed_at",
}


@pytest.fixture(scope="module")
def deployment(alice: Person) -> str:
    """A deployment no worker of this module takes work from."""
    return deploy(alice)


@pytest.fixture
def fresh(alice: Person) -> str:
    """A deployment of its own for a test whose worker must take exactly its requests."""
    return deploy(alice)


def classify(person: Person, deployment: str, content: bytes | None = None) -> int:
    files = {"file": ("x.png", content or make_png(16, 16), "image/png")}
    response = person.http.post("/classifications", data={"deployment": deployment}, files=files)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    return int(body["id"])


def work_one(person: Person, label: str = "bright", **kwargs: Any) -> dict[str, Any]:
    """Claim one job as ``person`` (a worker) and answer it with ``label``."""
    response = person.http.post("/worker/claim", json={"max": 1, "wait": 10, **kwargs})
    assert response.status_code == 200, response.text
    [job] = response.json()["jobs"]
    response = person.http.post(
        "/worker/results",
        json={
            "results": [
                {
                    "request_id": job["request_id"],
                    "dispatch_token": job["dispatch_token"],
                    "label": label,
                    "scores": {"dark": 0.1, "bright": 0.9},
                }
            ]
        },
    )
    assert response.json()["results"][0]["status"] == "accepted", response.text
    return job  # type: ignore[no-any-return]


def test_an_uploaded_image_is_queued_and_read_back(alice: Person, deployment: str) -> None:
    request_id = classify(alice, deployment)

    response = alice.http.get(f"/classifications/{request_id}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == SUMMARY_KEYS
    assert body["status"] == "pending"
    assert body["deployment"] == deployment
    assert body["result"] is None
    assert body["errors"] == []
    assert body["attempts"] == 0
    assert body["image_id"] is None


def test_an_upload_that_is_not_an_image_is_refused(alice: Person, deployment: str) -> None:
    files = {"file": ("x.png", b"not an image at all", "image/png")}
    response = alice.http.post("/classifications", data={"deployment": deployment}, files=files)

    assert_error(response, 422, "invalid_image")


def test_an_image_with_too_many_pixels_is_refused(alice: Person, deployment: str) -> None:
    # A 1-bit PNG of 20000x20000 pixels compresses to a few kilobytes.
    content = make_png(20_000, 20_000, mode="1", color=0)
    files = {"file": ("x.png", content, "image/png")}
    response = alice.http.post("/classifications", data={"deployment": deployment}, files=files)

    assert_error(response, 413, "image_too_large")


def test_an_upload_needs_a_file_and_a_deployment(alice: Person, deployment: str) -> None:
    response = alice.http.post(
        "/classifications", data={"deployment": deployment}, files={"other": ("x", b"x")}
    )
    assert_error(response, 422, "missing_file")
    response = alice.http.post(
        "/classifications", data={"deployment": "nope"}, files={"file": ("x", make_png())}
    )
    assert_error(response, 404, "deployment_not_found")


def test_a_stranger_cannot_submit_to_a_deployment_they_cannot_read(
    charlie: Person, deployment: str
) -> None:
    files = {"file": ("x.png", make_png(), "image/png")}
    response = charlie.http.post("/classifications", data={"deployment": deployment}, files=files)

    assert_error(response, 404, "deployment_not_found")


def test_a_dataset_image_is_queued_by_id(alice: Person, deployment: str) -> None:
    _, [image_id] = upload_images(alice, [gray_png(200)])

    response = alice.http.post(
        "/classifications", json={"deployment": deployment, "image_id": image_id}
    )

    assert response.status_code == 202, response.text
    body = alice.http.get(f"/classifications/{response.json()['id']}").json()
    assert body["image_id"] == image_id


def test_a_stranger_cannot_classify_someone_elses_dataset_image(
    alice: Person, charlie: Person
) -> None:
    _, [image_id] = upload_images(alice, [gray_png(10)])
    own = deploy(charlie)

    response = charlie.http.post("/classifications", json={"deployment": own, "image_id": image_id})

    assert_error(response, 404, "image_not_found")


def test_a_bad_json_body_is_a_validation_error(alice: Person, deployment: str) -> None:
    response = alice.http.post("/classifications", json={"deployment": deployment})

    assert_error(response, 422, "validation_error")


def test_a_batch_queues_many_dataset_images_in_one_call(alice: Person, fresh: str) -> None:
    deployment = fresh
    _, image_ids = upload_images(alice, [gray_png(i, marker=i) for i in range(5)])

    response = alice.http.post(
        "/classifications/batch", json={"deployment": deployment, "image_ids": image_ids * 400}
    )

    assert response.status_code == 202, response.text
    ids = response.json()["ids"]
    assert len(ids) == 2000
    assert len(set(ids)) == 2000
    listed = alice.http.get(
        "/classifications", params={"deployment": deployment, "limit": 1000}
    ).json()["items"]
    assert [item["id"] for item in listed] == sorted(ids, reverse=True)[:1000]
    assert {item["image_id"] for item in listed} == set(image_ids)


def test_a_batch_with_an_image_the_caller_cannot_read_queues_nothing(
    alice: Person, bob: Person, deployment: str
) -> None:
    _, mine = upload_images(alice, [gray_png(1, marker=9001)])
    _, theirs = upload_images(bob, [gray_png(2, marker=9002)])
    before = alice.http.get("/classifications", params={"limit": 1}).json()["items"]

    response = alice.http.post(
        "/classifications/batch", json={"deployment": deployment, "image_ids": mine + theirs}
    )

    error = assert_error(response, 404, "image_not_found")
    assert error["details"]["image_ids"] == theirs
    assert alice.http.get("/classifications", params={"limit": 1}).json()["items"] == before


def test_a_stranger_gets_404_for_someone_elses_classification(
    alice: Person, charlie: Person, deployment: str
) -> None:
    request_id = classify(alice, deployment)

    assert_error(
        charlie.http.get(f"/classifications/{request_id}"), 404, "classification_not_found"
    )
    assert_error(
        charlie.http.post(f"/classifications/{request_id}/cancel"),
        404,
        "classification_not_found",
    )
    assert_error(charlie.http.get("/classifications/999999999"), 404, "classification_not_found")
    listed = charlie.http.get("/classifications").json()["items"]
    assert request_id not in {item["id"] for item in listed}


def test_staff_may_read_anyones_classification(
    alice: Person, admin: Person, deployment: str
) -> None:
    request_id = classify(alice, deployment)

    assert admin.http.get(f"/classifications/{request_id}").status_code == 200


def test_cancel_ends_a_pending_request(alice: Person, deployment: str) -> None:
    request_id = classify(alice, deployment)

    response = alice.http.post(f"/classifications/{request_id}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["completed_at"] is not None
    assert alice.http.post(f"/classifications/{request_id}/cancel").status_code == 200


def test_a_completed_request_cannot_be_cancelled(alice: Person, worker: Person, fresh: str) -> None:
    deployment = fresh
    request_id = classify(alice, deployment)
    job = work_one(worker, deployments=[deployment])
    assert job["request_id"] == request_id

    assert_error(alice.http.post(f"/classifications/{request_id}/cancel"), 409, "not_cancellable")
    body = alice.http.get(f"/classifications/{request_id}").json()
    assert body["status"] == "completed"
    assert body["result"] == {
        "label": "bright",
        "scores": {"dark": 0.1, "bright": 0.9},
        "detections": None,
    }
    assert body["attempts"] == 1
    assert body["assigned_at"] is not None
    assert body["completed_at"] is not None


def test_wait_answers_as_soon_as_the_result_arrives(
    alice: Person, worker: Person, fresh: str
) -> None:
    deployment = fresh
    request_id = classify(alice, deployment)
    answered: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        answered["body"] = alice.http.get(
            f"/classifications/{request_id}", params={"wait": 30}
        ).json()
        answered["at"] = time.monotonic()
        answered["took"] = answered["at"] - started

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)  # let the poll start waiting before the result exists
    assert thread.is_alive()
    work_one(worker, deployments=[deployment])
    finished = time.monotonic()
    thread.join(timeout=30)

    assert answered["body"]["status"] == "completed"
    assert answered["at"] - finished < 1.0
    assert answered["took"] < 10


def test_wait_gives_up_after_its_time(alice: Person, deployment: str) -> None:
    request_id = classify(alice, deployment)
    started = time.monotonic()

    body = alice.http.get(f"/classifications/{request_id}", params={"wait": 0.5}).json()

    assert body["status"] == "pending"
    assert 0.4 < time.monotonic() - started < 5
    alice.http.post(f"/classifications/{request_id}/cancel")


def test_list_filters_by_status_and_pages_with_a_cursor(alice: Person, deployment: str) -> None:
    ids = [classify(alice, deployment) for _ in range(3)]
    alice.http.post(f"/classifications/{ids[0]}/cancel")

    first = alice.http.get(
        "/classifications",
        params={"deployment": deployment, "status": "pending", "submitter": "me", "limit": 1},
    ).json()
    second = alice.http.get(
        "/classifications",
        params={
            "deployment": deployment,
            "status": "pending",
            "limit": 1,
            "cursor": first["next_cursor"],
        },
    ).json()

    assert [i["id"] for i in first["items"]] == [ids[2]]
    assert [i["id"] for i in second["items"]] == [ids[1]]
    cancelled = alice.http.get(
        "/classifications", params={"deployment": deployment, "status": "cancelled"}
    ).json()
    assert ids[0] in {i["id"] for i in cancelled["items"]}
    assert_error(alice.http.get("/classifications", params={"status": "nope"}), 422)
    for request_id in ids[1:]:
        alice.http.post(f"/classifications/{request_id}/cancel")


def test_predict_answers_with_the_result_when_it_is_ready(
    alice: Person, worker: Person, fresh: str
) -> None:
    deployment = fresh
    answered: dict[str, Any] = {}

    def predict() -> None:
        files = {"file": ("x.png", make_png(12, 12), "image/png")}
        answered["response"] = alice.http.post(
            f"/deployments/{deployment}/predict", params={"timeout": 30}, files=files
        )

    thread = threading.Thread(target=predict)
    thread.start()
    work_one(worker, "dark", deployments=[deployment])
    thread.join(timeout=30)

    response = answered["response"]
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"
    assert response.json()["result"]["label"] == "dark"


def test_predict_answers_202_with_the_id_after_its_timeout(alice: Person, deployment: str) -> None:
    files = {"file": ("x.png", make_png(12, 12), "image/png")}

    response = alice.http.post(
        f"/deployments/{deployment}/predict", params={"timeout": 0.2}, files=files
    )

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    alice.http.post(f"/classifications/{response.json()['id']}/cancel")


def test_a_stranger_cannot_predict_nor_read_stats(charlie: Person, deployment: str) -> None:
    files = {"file": ("x.png", make_png(), "image/png")}
    assert_error(
        charlie.http.post(f"/deployments/{deployment}/predict", files=files),
        404,
        "deployment_not_found",
    )
    assert_error(charlie.http.get(f"/deployments/{deployment}/stats"), 404, "deployment_not_found")


def test_stats_count_by_status_and_list_live_workers(
    alice: Person, worker: Person, fresh: str
) -> None:
    deployment = fresh
    classify(alice, deployment)
    work_one(
        worker,
        deployments=[deployment],
        worker={"name": "stats-worker", "version": "1.0", "site": "lab"},
    )

    stats = alice.http.get(f"/deployments/{deployment}/stats").json()

    assert set(stats["counts"]) == {"pending", "assigned", "completed", "failed", "cancelled"}
    assert stats["counts"]["completed"] >= 1
    assert stats["completed_last_minute"] >= 1
    assert stats["throughput_per_second"] > 0
    live = {w["name"]: w for w in stats["live_workers"]}
    assert live["stats-worker"]["owner"] == worker.username
    assert live["stats-worker"]["site"] == "lab"
    assert live["stats-worker"]["jobs_done"] >= 1


def test_priority_above_zero_is_for_staff(alice: Person, admin: Person, deployment: str) -> None:
    files = {"file": ("x.png", make_png(), "image/png")}
    response = alice.http.post(
        "/classifications", data={"deployment": deployment, "priority": "5"}, files=files
    )
    assert_error(response, 422, "invalid_priority")


def test_results_of_dataset_images_are_saved_as_a_pred_label_set(
    alice: Person, worker: Person, charlie: Person, fresh: str
) -> None:
    deployment = fresh
    images = [gray_png(20, marker=501), gray_png(230, marker=502)]
    dataset_id, image_ids = upload_images(alice, images)
    response = alice.http.post(
        "/classifications/batch", json={"deployment": deployment, "image_ids": image_ids}
    )
    ids = response.json()["ids"]
    for label in ("dark", "bright"):
        work_one(worker, label, deployments=[deployment])
    body = {"deployment": deployment, "dataset": dataset_id, "label_set_name": "predictions"}

    assert_error(charlie.http.post("/classifications/save-label-set", json=body), 404)
    response = alice.http.post("/classifications/save-label-set", json=body)

    assert response.status_code == 201, response.text
    saved = response.json()
    assert (saved["kind"], saved["annotations"], saved["dataset"]) == ("Pred", 2, dataset_id)
    annotations = alice.http.get(f"/images/{image_ids[1]}/annotations").json()["items"]
    assert [a["label_set_id"] for a in annotations] == [saved["id"]]
    assert len(ids) == 2
    assert_error(alice.http.post("/classifications/save-label-set", json=body), 409)

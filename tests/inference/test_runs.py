"""Runs of a deployment over a dataset: every (filtered) image queued in bulk, accepted answers
written into a Pred label set as annotations with their confidence, progress, cancel, and a
resubmitted run that only predicts what is missing. Workers here speak the protocol over HTTP."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import Person
from tests.helpers import assert_error, unique
from tests.inference.helpers import deploy, gray_png, make_deployment, make_user, upload_images

from visionhub.datasets.models import Dataset, Image
from visionhub.inference import runs

CLASSES = ["cat", "dog"]


def deploy_detector(person: Person, task: str = "detection") -> str:
    model = unique("detector")
    body = {"name": model, "task": task, "classes": CLASSES, "input": {"width": 8, "height": 8}}
    assert person.http.post("/models", json=body).status_code == 201
    files = [("files", ("model.onnx", b"not run here", "application/octet-stream"))]
    assert person.http.post(f"/models/{model}/versions", files=files).status_code == 201
    name = unique("detect")
    response = person.http.post("/deployments", json={"name": name, "model": model, "version": 1})
    assert response.status_code == 201, response.text
    return name


def dataset_of(person: Person, n: int) -> tuple[int, list[int]]:
    return upload_images(person, [gray_png(40 + i, marker=7000 + i) for i in range(n)])


def boxes_for(image_id: int) -> list[dict[str, Any]]:
    """What the fake worker answers for an image: two boxes, told apart by the image id."""
    return [
        {"label": "cat", "score": 0.9, "box": [0.0, 0.0, 4.0, float(1 + image_id % 3)]},
        {"label": "dog", "score": 0.4, "box": [4.0, 4.0, 4.0, 4.0]},
    ]


def work(worker: Person, deployment: str, *, fail: set[int] | None = None, limit: int = 100) -> int:
    """Claim and answer up to ``limit`` jobs of ``deployment`` (by image: ``fail`` errors)."""
    jobs = worker.http.post(
        "/worker/claim", json={"max": limit, "deployments": [deployment]}
    ).json()["jobs"]
    by_sha = image_ids_by_sha.get(deployment, {})
    results = []
    for job in jobs:
        image_id = by_sha[job["image"]["sha256"]]
        lease = {"request_id": job["request_id"], "dispatch_token": job["dispatch_token"]}
        if fail and image_id in fail:
            results.append({**lease, "error": "invalid_image: broken"})
        else:
            results.append({**lease, "detections": boxes_for(image_id)})
    if results:
        answer = worker.http.post("/worker/results", json={"results": results})
        assert answer.status_code == 200, answer.text
        assert {r["status"] for r in answer.json()["results"]} == {"accepted"}
    return len(jobs)


image_ids_by_sha: dict[str, dict[str, int]] = {}


def remember_images(person: Person, deployment: str, dataset: int) -> None:
    items = person.http.get(f"/datasets/{dataset}/images", params={"limit": 1000}).json()["items"]
    image_ids_by_sha[deployment] = {i["sha256"]: i["id"] for i in items}


def annotations(person: Person, dataset: int, label_set: int) -> list[dict[str, Any]]:
    response = person.http.get(
        f"/datasets/{dataset}/annotations", params={"label_set": label_set, "limit": 1000}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def start(person: Person, deployment: str, dataset: int, label_set: str, **body: Any) -> Any:
    return person.http.post(
        f"/deployments/{deployment}/runs",
        json={"dataset": dataset, "label_set": label_set, **body},
    )


def test_a_run_fills_a_pred_label_set_with_the_boxes_and_their_confidence(
    alice: Person, worker: Person
) -> None:
    deployment = deploy_detector(alice)
    dataset, image_ids = dataset_of(alice, 5)
    remember_images(alice, deployment, dataset)

    response = start(alice, deployment, dataset, "predictions")
    assert response.status_code == 202, response.text
    run = response.json()
    assert (run["status"], run["queued"], run["skipped"], run["pending"]) == ("running", 5, 0, 5)
    assert work(worker, deployment) == 5

    done = alice.http.get(f"/deployments/{deployment}/runs/{run['id']}").json()
    assert (done["status"], done["done"], done["pending"], done["failed"]) == ("finished", 5, 0, 0)
    assert done["annotations"] == 10
    label_sets = alice.http.get(f"/datasets/{dataset}/label-sets").json()["items"]
    [pred] = [s for s in label_sets if s["name"] == "predictions"]
    assert pred["kind"] == "Pred"
    categories = {
        c["id"]: c["name"]
        for c in alice.http.get(f"/datasets/{dataset}/categories").json()["items"]
    }
    written = annotations(alice, dataset, pred["id"])
    got = sorted(
        (a["image_id"], categories[a["category_id"]], a["conf"], a["bbox"]) for a in written
    )
    want = sorted((i, d["label"], d["score"], d["box"]) for i in image_ids for d in boxes_for(i))
    assert got == want


def test_a_classification_run_writes_one_label_per_image(alice: Person, worker: Person) -> None:
    deployment = deploy(alice)
    dataset, _ = dataset_of(alice, 3)
    run = start(alice, deployment, dataset, "labels").json()
    jobs = worker.http.post("/worker/claim", json={"max": 10, "deployments": [deployment]})
    results = [
        {
            "request_id": j["request_id"],
            "dispatch_token": j["dispatch_token"],
            "label": "bright",
            "scores": {"dark": 0.3, "bright": 0.7},
        }
        for j in jobs.json()["jobs"]
    ]
    worker.http.post("/worker/results", json={"results": results})
    done = alice.http.get(f"/deployments/{deployment}/runs/{run['id']}").json()
    assert (done["done"], done["annotations"]) == (3, 3)
    written = annotations(alice, dataset, done["label_set_id"])
    assert {a["conf"] for a in written} == {0.7}
    assert all(a["bbox"] is None for a in written)


def test_resubmitting_a_run_predicts_only_what_is_missing(alice: Person, worker: Person) -> None:
    deployment = deploy_detector(alice)
    dataset, image_ids = dataset_of(alice, 6)
    remember_images(alice, deployment, dataset)
    first = start(alice, deployment, dataset, "preds").json()
    work(worker, deployment, fail=set(image_ids[:2]), limit=4)  # 2 fail once, 2 answered
    # The two left pending stay with the first run; failed ones are tried again.
    second = start(alice, deployment, dataset, "preds").json()
    assert (second["queued"], second["skipped"]) == (0, 6)

    alice.http.post(f"/deployments/{deployment}/runs/{first['id']}/cancel")
    third = start(alice, deployment, dataset, "preds").json()
    assert (third["queued"], third["skipped"]) == (4, 2)  # all but the two answered
    while work(worker, deployment):
        pass
    total = sum(
        alice.http.get(f"/deployments/{deployment}/runs/{r['id']}").json()["annotations"]
        for r in (first, third)
    )
    written = annotations(alice, dataset, third["label_set_id"])
    assert total == len(written) == 12  # two boxes per image, none twice
    assert sorted({a["image_id"] for a in written}) == sorted(image_ids)


def test_filters_choose_the_images(alice: Person, worker: Person) -> None:
    deployment = deploy_detector(alice)
    dataset, image_ids = dataset_of(alice, 4)
    flagged = alice.http.post(
        f"/datasets/{dataset}/images/flag", json={"image_ids": image_ids[:3], "flag": 1}
    )
    assert flagged.status_code == 200, flagged.text
    run = start(alice, deployment, dataset, "flagged", filters={"flag": 1}).json()
    assert (run["queued"], run["filters"]) == (3, {"flag": 1})
    assert_error(start(alice, deployment, dataset, "x", filters={"colour": "red"}), 422, None)


def test_cancelling_a_run_stops_its_requests(alice: Person, worker: Person) -> None:
    deployment = deploy_detector(alice)
    dataset, _ = dataset_of(alice, 3)
    run = start(alice, deployment, dataset, "stopped").json()
    cancelled = alice.http.post(f"/deployments/{deployment}/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["cancelled"], body["pending"]) == ("cancelled", 3, 0)
    claimed = worker.http.post("/worker/claim", json={"max": 10, "deployments": [deployment]})
    assert claimed.json()["jobs"] == []


def test_predictions_never_go_into_a_ground_truth_label_set(alice: Person) -> None:
    deployment = deploy_detector(alice)
    dataset, _ = dataset_of(alice, 1)
    made = alice.http.post(f"/datasets/{dataset}/label-sets", json={"name": "truth"})
    assert made.status_code == 201, made.text
    assert_error(start(alice, deployment, dataset, "truth"), 409, "label_set_not_pred")


def test_a_run_needs_write_access_to_the_dataset(alice: Person, bob: Person) -> None:
    deployment = deploy_detector(bob)
    dataset, _ = dataset_of(alice, 1)
    shared = alice.http.post(
        f"/datasets/{dataset}/members", json={"username": bob.username, "role": "read"}
    )
    assert shared.status_code == 201, shared.text
    response = start(bob, deployment, dataset, "bobs")
    assert response.status_code in (403, 404), response.text


def test_a_stranger_sees_no_run(alice: Person, charlie: Person) -> None:
    deployment = deploy_detector(alice)
    dataset, _ = dataset_of(alice, 1)
    run = start(alice, deployment, dataset, "mine").json()
    assert_error(start(charlie, deployment, dataset, "x"), 404, "deployment_not_found")
    url = f"/deployments/{deployment}/runs/{run['id']}"
    assert_error(charlie.http.get(url), 404, "run_not_found")
    assert_error(charlie.http.post(url + "/cancel"), 404, "run_not_found")
    assert_error(alice.http.get(f"/deployments/{deploy_detector(alice)}/runs/{run['id']}"), 404)


def test_a_run_is_inserted_in_bulk_whatever_its_size(db: None) -> None:
    """A run's creation inserts its requests in bulk, never one row per statement."""
    owner = make_user("owner")
    deployment = make_deployment(owner)
    counts = []
    for n in (10, 2_500):
        dataset = Dataset.objects.create(owner=owner, name=unique("ds"))
        Image.objects.bulk_create(
            Image(
                dataset=dataset,
                sha256=f"{i:064x}",
                size=1,
                width=8,
                height=8,
                format="PNG",
                idx=i,
                filename=f"{i}.png",
            )
            for i in range(n)
        )
        with CaptureQueriesContext(connection) as queries:
            run = runs.create_run(deployment, dataset, "preds", by=owner)
        assert run.queued == n
        counts.append(len(queries))
    # Multi-row INSERTs: 1,000 rows each on PostgreSQL; on SQLite as many as Django's limit of
    # 999 parameters allows (about 40).
    assert counts[1] - counts[0] < 2_500 / 30


def test_saving_a_detection_deployments_results_as_a_label_set_keeps_the_boxes(
    alice: Person, worker: Person
) -> None:
    deployment = deploy_detector(alice)
    dataset, image_ids = dataset_of(alice, 2)
    remember_images(alice, deployment, dataset)
    batch = alice.http.post(
        "/classifications/batch", json={"deployment": deployment, "image_ids": image_ids}
    )
    assert batch.status_code == 202, batch.text
    assert work(worker, deployment) == 2
    saved = alice.http.post(
        "/classifications/save-label-set",
        json={"deployment": deployment, "dataset": dataset, "label_set_name": "saved"},
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["annotations"] == 4
    written = annotations(alice, dataset, saved.json()["id"])
    assert sorted((a["image_id"], a["conf"], a["bbox"]) for a in written) == sorted(
        (i, d["score"], d["box"]) for i in image_ids for d in boxes_for(i)
    )

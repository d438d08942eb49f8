"""What the evaluation API refuses, and who may see what: every refusal a clear 4xx that
writes nothing; charlie, a stranger, gets 404 for every evaluation path."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Person
from tests.evaluation.conftest import Imported, import_set
from tests.evaluation.synthetic import generate
from tests.helpers import assert_error
from tests.tasks_support import RunTasks


@pytest.fixture(scope="module")
def small(alice: Person) -> Imported:
    return import_set(alice, generate(5, images=6))


@pytest.fixture(scope="module")
def done(alice: Person, small: Imported, run_tasks: RunTasks) -> dict[str, Any]:
    response = alice.http.post(
        "/evaluations", json={"dataset": small.dataset_id, "gt": "gt", "pred": "pred"}
    )
    assert response.status_code == 202, response.text
    run_tasks()
    return alice.http.get(f"/evaluations/{response.json()['id']}").json()  # type: ignore[no-any-return]


def count_evaluations(person: Person, dataset_id: int) -> int:
    return len(person.http.get("/evaluations", params={"dataset": dataset_id}).json()["items"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"gt": "nope"}, 422, "invalid_label_set"),
        ({"gt": "pred", "pred": "gt"}, 422, "not_ground_truth"),
        ({"pred": "gt"}, 422, "same_label_set"),
        ({"iou_type": "segm"}, 422, "iou_type_unsupported"),
        ({"iou_type": "keypoints"}, 422, "iou_type_unsupported"),
        ({"iou_type": "polygons"}, 422, None),
        ({"params": {"max_dets": [1, 10]}}, 422, None),
        ({"params": {"kpt_oks_sigmas": [0.1]}}, 422, "invalid_params"),
        ({"colour": "red"}, 422, None),
        ({"dataset": 2**62}, 404, "dataset_not_found"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(
    alice: Person, small: Imported, body: dict[str, Any], status: int, code: str | None
) -> None:
    before = count_evaluations(alice, small.dataset_id)
    request = {"dataset": small.dataset_id, "gt": "gt", "pred": "pred", **body}
    assert_error(alice.http.post("/evaluations", json=request), status, code)
    assert count_evaluations(alice, small.dataset_id) == before


def test_a_label_set_of_another_dataset_is_not_found_in_this_one(
    alice: Person, small: Imported
) -> None:
    other = import_set(alice, generate(6, images=2))
    alice.http.post(
        f"/datasets/{other.dataset_id}/label-sets", json={"name": "theirs", "kind": "Pred"}
    )
    response = alice.http.post(
        "/evaluations", json={"dataset": small.dataset_id, "gt": "gt", "pred": "theirs"}
    )
    assert_error(response, 422, "invalid_label_set")


def test_comparisons_refuse_a_precision_that_is_not_a_level(
    alice: Person, small: Imported, done: dict[str, Any]
) -> None:
    url = f"/datasets/{small.dataset_id}/comparisons"
    for precision in ("0.85", "0.05", "high"):
        response = alice.http.get(url, params={"evaluation": done["id"], "precision": precision})
        assert response.status_code == 422, response.text
    unreached = [p["precision"] for p in done["metrics"]["compare_precisions"] if not p["reached"]]
    if unreached:
        response = alice.http.get(url, params={"evaluation": done["id"], "precision": unreached[0]})
        assert_error(response, 422, "precision_not_reached")
    response = alice.http.get(url, params={"evaluation": done["id"], "precision": 0.5, "x": 1})
    assert response.status_code == 422


def test_charlie_gets_404_everywhere(
    charlie: Person, small: Imported, done: dict[str, Any]
) -> None:
    eid = done["id"]
    assert_error(charlie.http.get(f"/evaluations/{eid}"), 404, "evaluation_not_found")
    assert_error(charlie.http.delete(f"/evaluations/{eid}"), 404, "evaluation_not_found")
    assert_error(charlie.http.get("/evaluations", params={"dataset": small.dataset_id}), 404)
    body = {"dataset": small.dataset_id, "gt": "gt", "pred": "pred"}
    assert_error(charlie.http.post("/evaluations", json=body), 404, "dataset_not_found")
    url = f"/datasets/{small.dataset_id}/comparisons"
    assert_error(charlie.http.get(url, params={"evaluation": eid, "precision": 0.5}), 404)


def test_a_reader_sees_evaluations_but_cannot_start_or_delete_one(
    alice: Person, bob: Person, small: Imported, done: dict[str, Any]
) -> None:
    response = alice.http.post(
        f"/datasets/{small.dataset_id}/members", json={"username": bob.username, "access": "read"}
    )
    assert response.status_code == 201, response.text
    assert bob.http.get(f"/evaluations/{done['id']}").json()["status"] == "done"
    body = {"dataset": small.dataset_id, "gt": "gt", "pred": "pred"}
    assert_error(bob.http.post("/evaluations", json=body), 403, "read_only")
    assert_error(bob.http.delete(f"/evaluations/{done['id']}"), 403, "read_only")


def test_deleting_an_evaluation(alice: Person, small: Imported, run_tasks: RunTasks) -> None:
    response = alice.http.post(
        "/evaluations", json={"dataset": small.dataset_id, "gt": "gt", "pred": "pred"}
    )
    eid = response.json()["id"]
    assert alice.http.delete(f"/evaluations/{eid}").status_code == 204
    run_tasks()  # its task finds nothing to do
    assert_error(alice.http.get(f"/evaluations/{eid}"), 404, "evaluation_not_found")

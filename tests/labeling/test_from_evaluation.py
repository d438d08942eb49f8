"""A project made from the images an evaluation found wrong: the loop from predictions back to
labels. The evaluation runs for real on a generated set (``tests/evaluation``'s helpers)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Person, PersonFactory
from tests.evaluation.conftest import Imported, import_set
from tests.evaluation.synthetic import generate
from tests.helpers import assert_error, unique
from tests.labeling.support import images_of, init_project, ok, run_queued_tasks, tasks_of


@pytest.fixture(scope="module")
def evaluated(alice: Person) -> tuple[Imported, dict[str, Any]]:
    imported = import_set(alice, generate(11, images=30))
    body = {"dataset": imported.dataset_id, "gt": "gt", "pred": "pred", "iou_type": "bbox"}
    accepted = ok(alice.http.post("/evaluations", json=body), 202)
    run_queued_tasks(alice)
    evaluation = ok(alice.http.get(f"/evaluations/{accepted['id']}"))
    assert evaluation["status"] == "done", evaluation
    return imported, evaluation


def _wrong(
    alice: Person, imported: Imported, evaluation: dict[str, Any], precision: float
) -> dict[str, set[int]]:
    params = {"evaluation": evaluation["id"], "precision": precision, "limit": 1000}
    rows = ok(alice.http.get(f"/datasets/{imported.dataset_id}/comparisons", params=params))[
        "items"
    ]
    return {
        "fp": {r["image_id"] for r in rows if r["num_fp"]},
        "fn": {r["image_id"] for r in rows if r["num_fn"]},
    }


def _body(manager: Person, evaluation: dict[str, Any], **choice: Any) -> dict[str, Any]:
    return {"name": unique("mistakes"), "managers": [manager.username], "categories": ["x"],
            "from_evaluation": {"evaluation": evaluation["id"], **choice}}  # fmt: skip


def test_a_project_covers_the_images_with_errors_at_a_precision_and_shows_the_predictions(
    alice: Person, make_person: PersonFactory, evaluated: tuple[Imported, dict[str, Any]]
) -> None:
    imported, evaluation = evaluated
    manager = make_person("manager")
    reached = [
        p["precision"] for p in evaluation["metrics"]["compare_precisions"] if p.get("reached")
    ]
    assert reached
    precision = reached[len(reached) // 2]
    wrong = _wrong(alice, imported, evaluation, precision)
    assert wrong["fp"] and wrong["fn"]

    body = _body(manager, evaluation, precision=precision, errors="fp")
    project = ok(alice.http.post("/label-projects", json=body), 201)
    assert project["datasets"] == [imported.dataset_id]
    assert project["pre_label"] == "pred" and project["image_subset"] is True
    init_project(manager, project["id"], batch_size=0, label_times=1, review_times=0)
    (task,) = tasks_of(manager, project["id"])
    images = images_of(manager, task["id"])
    assert {i["image_id"] for i in images} == wrong["fp"]
    # An image with a false positive has a prediction: it is there as an editable default.
    assert all(i["default_labels"] for i in images)

    both = ok(
        alice.http.post("/label-projects", json=_body(manager, evaluation, precision=precision)),
        201,
    )
    init_project(manager, both["id"], batch_size=0, label_times=1, review_times=0)
    (task,) = tasks_of(manager, both["id"])
    assert {i["image_id"] for i in images_of(manager, task["id"])} == wrong["fp"] | wrong["fn"]


def test_a_precision_never_reached_or_a_strangers_evaluation_is_refused(
    alice: Person,
    charlie: Person,
    make_person: PersonFactory,
    evaluated: tuple[Imported, dict[str, Any]],
) -> None:
    _, evaluation = evaluated
    manager = make_person("manager")
    reached = {
        p["precision"] for p in evaluation["metrics"]["compare_precisions"] if p.get("reached")
    }
    missing = [p / 10 for p in range(1, 10) if p / 10 not in reached]
    if missing:
        body = _body(manager, evaluation, precision=missing[0])
        assert_error(alice.http.post("/label-projects", json=body), 422, "precision_not_reached")
    body = _body(manager, evaluation, precision=0.55)
    assert_error(alice.http.post("/label-projects", json=body), 422, "invalid_precision")
    body = _body(manager, evaluation, precision=sorted(reached)[0])
    assert_error(charlie.http.post("/label-projects", json=body), 404, "evaluation_not_found")
    body["images"] = [1]
    assert_error(alice.http.post("/label-projects", json=body), 422, "images_and_evaluation")

"""The labeling rows of the stranger matrix (``tests/strangers.py``): alice's project, its
task and one of its images. Every role's answer is in ``test_permission_matrix.py``."""

from __future__ import annotations

from typing import Any

from tests.conftest import Person
from tests.labeling.support import (
    create_project,
    dataset_with_images,
    images_of,
    init_project,
    set_leader,
    set_workers,
    tasks_of,
)
from tests.strangers import Hidden, Open, Row


def world(alice: Person, admin: Person) -> dict[str, Any]:
    dataset = dataset_with_images(alice, 2)
    project = create_project(alice, [dataset["id"]], [alice])
    init_project(alice, project["id"], batch_size=0, label_times=1, review_times=1)
    (task,) = tasks_of(alice, project["id"])
    set_leader(alice, task["id"], "label_leader", alice)
    set_workers(alice, task["id"], "labeler", [alice])
    image = images_of(alice, task["id"])[0]
    return {"dataset": dataset["id"], "project_id": project["id"], "task_id": task["id"],
            "task_image_id": image["id"], "alice": alice.username}  # fmt: skip


P = "/label-projects/{project_id}"
T = "/label-tasks/{task_id}"
I = "/label-tasks/{task_id}/images/{task_image_id}"  # noqa: E741
PN, TN = "project_not_found", "task_not_found"
MATRIX = "labeling/test_permission_matrix.py"


def _create(world: dict[str, Any]) -> dict[str, Any]:
    return {"name": "mine", "datasets": [world["dataset"]], "managers": [world["alice"]],
            "categories": ["cat"]}  # fmt: skip


def _leader(world: dict[str, Any]) -> dict[str, Any]:
    return {"role": "label_leader", "username": world["alice"]}


def _replace(world: dict[str, Any]) -> dict[str, Any]:
    return {"role": "labeler", "old": world["alice"], "new": world["alice"]}


ROWS: list[Row] = [
    Hidden("POST", "/label-projects", "dataset_not_found", json=_create),
    Open("GET", "/label-projects", "lists the projects charlie is a member of", MATRIX),
    Hidden("GET", P, PN),
    Hidden("PATCH", P, PN, json={"description": "mine"}),
    Hidden("POST", P + "/init", PN, json={"batch_size": 1, "label_times": 1, "review_times": 0}),
    Hidden("GET", P + "/progress", PN),
    Hidden("GET", P + "/roles", PN),
    Hidden("GET", P + "/tasks", PN),
    Hidden("POST", P + "/qa", PN, json={"action": "accept"}),
    Hidden("POST", P + "/export", PN, json={"label_set": "mine"}),
    Hidden("GET", T, TN),
    Hidden("GET", T + "/roles", TN),
    Hidden("POST", T + "/leaders", TN, json=_leader),
    Hidden("POST", T + "/workers", TN, json={"role": "labeler", "usernames": []}),
    Hidden("POST", T + "/workers/replace", TN, json=_replace),
    Hidden("POST", T + "/restart", TN),
    Hidden("POST", T + "/qa", TN, json={"action": "accept"}),
    Hidden("GET", T + "/images", TN),
    Hidden("GET", I, TN),
    Hidden("PUT", I + "/label", TN, json={"annotations": []}),
    Hidden("POST", I + "/reviews", TN, json={"label_id": 1, "action": "accept"}),
    Hidden("GET", T + "/agreement", TN),
]

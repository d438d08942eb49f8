"""Shared steps of the labeling tests, all through the real API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import InProcessServer, Person, PersonFactory
from tests.datasets.helpers import new_dataset, upload_noise
from tests.helpers import unique, wait_until


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:2000])
    return response.json() if response.content else None


def dataset_with_images(owner: Person, n: int, *, seed: int = 0) -> dict[str, Any]:
    """A dataset of ``n`` distinct 32x24 images."""
    dataset = new_dataset(owner, "labeling")
    upload_noise(owner, dataset["id"], n, seed=seed)
    return dataset


def create_project(
    owner: Person,
    datasets: list[int],
    managers: list[Person],
    categories: list[str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "name": unique("project"),
        "datasets": datasets,
        "managers": [m.username for m in managers],
        "categories": categories or ["cat", "dog"],
        **fields,
    }
    return ok(owner.http.post("/label-projects", json=body), 201)  # type: ignore[no-any-return]


def init_project(
    manager: Person, project_id: int, *, batch_size: int, label_times: int, review_times: int
) -> dict[str, Any]:
    """Initialise and wait until the background split is done."""
    body = {"batch_size": batch_size, "label_times": label_times, "review_times": review_times}
    ok(manager.http.post(f"/label-projects/{project_id}/init", json=body), 202)
    return wait_for_status(manager, project_id, "working")


def run_queued_tasks(person: Person) -> None:
    """In the in-process ring nobody else runs background tasks: run what is queued, here and
    now, with VisionHub's task worker (a server process runs them with its own workers)."""
    if isinstance(person.server, InProcessServer):
        from visionhub.tasks.worker import run_worker

        run_worker(queue_names=["default"], batch=True, interval=0, handle_signals=False)


def wait_for_status(person: Person, project_id: int, status: str) -> dict[str, Any]:
    """Wait until the project's background task has brought it to ``status``."""
    run_queued_tasks(person)

    def reached() -> dict[str, Any] | None:
        project = ok(person.http.get(f"/label-projects/{project_id}"))
        assert project["status"] not in ("failed",), project
        return project if project["status"] == status else None

    return wait_until(reached, timeout=60)  # type: ignore[no-any-return]


def tasks_of(person: Person, project_id: int) -> list[dict[str, Any]]:
    return ok(person.http.get(f"/label-projects/{project_id}/tasks"))["items"]  # type: ignore[no-any-return]


def images_of(person: Person, task_id: int, **params: Any) -> list[dict[str, Any]]:
    page = ok(person.http.get(f"/label-tasks/{task_id}/images", params={"limit": 1000, **params}))
    return page["items"]  # type: ignore[no-any-return]


def set_leader(manager: Person, task_id: int, role: str, leader: Person) -> dict[str, Any]:
    body = {"role": role, "username": leader.username}
    return ok(manager.http.post(f"/label-tasks/{task_id}/leaders", json=body))  # type: ignore[no-any-return]


def set_workers(
    leader: Person, task_id: int, role: str, workers: list[Person]
) -> list[dict[str, Any]]:
    body = {"role": role, "usernames": [w.username for w in workers]}
    return ok(leader.http.post(f"/label-tasks/{task_id}/workers", json=body))  # type: ignore[no-any-return]


def label(
    person: Person, task_id: int, task_image_id: int, annotations: list[dict[str, Any]]
) -> Any:
    return person.http.put(
        f"/label-tasks/{task_id}/images/{task_image_id}/label", json={"annotations": annotations}
    )


def review(person: Person, task_id: int, task_image_id: int, label_id: int, action: str) -> Any:
    return person.http.post(
        f"/label-tasks/{task_id}/images/{task_image_id}/reviews",
        json={"label_id": label_id, "action": action},
    )


def roles_by_user(person: Person, task_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    roles = ok(person.http.get(f"/label-tasks/{task_id}/roles"))
    return {(r["username"], r["role"]): r for r in roles if r["is_active"]}


def counters(role: dict[str, Any]) -> tuple[int, int, int, int, bool, bool]:
    """(label waiting, review waiting, rejected, accepted, label completed, review completed)."""
    return (
        role["label_num_waiting"],
        role["review_num_waiting"],
        role["review_num_rejected"],
        role["review_num_accepted"],
        role["label_completed"],
        role["review_completed"],
    )


def project_counters(project: dict[str, Any]) -> dict[str, int]:
    return {
        s: project[f"task_num_{s}"]
        for s in ("total", "waiting", "working", "reviewing", "rejected", "accepted")
    }


@dataclass
class Team:
    owner: Person
    manager: Person
    label_leader: Person
    review_leader: Person
    labelers: list[Person]
    reviewers: list[Person]


def make_team(make_person: PersonFactory, owner: Person, *, labelers: int, reviewers: int) -> Team:
    return Team(
        owner=owner,
        manager=make_person("manager"),
        label_leader=make_person("label-leader"),
        review_leader=make_person("review-leader"),
        labelers=[make_person(f"labeler{i}") for i in range(labelers)],
        reviewers=[make_person(f"reviewer{i}") for i in range(reviewers)],
    )


def staff_task(team: Team, task_id: int, *, review: bool = True) -> None:
    """Give the task its leaders and workers."""
    set_leader(team.manager, task_id, "label_leader", team.label_leader)
    if review:
        set_leader(team.manager, task_id, "review_leader", team.review_leader)
    set_workers(team.label_leader, task_id, "labeler", team.labelers)
    if review:
        set_workers(team.review_leader, task_id, "reviewer", team.reviewers)

"""Every role against every endpoint: the permission matrix of seed 004's ``label_task``.

One project, initialised into three tasks of two images (one labeler and one reviewer per
image). Task 1 is the team's: its label leader, review leader, labeler and reviewer. Task 2 is
another labeler's ("other": a member of the project, of another task). Task 3 has its leaders
only, so that its workers can still be set. The owner is not a manager.

Each cell is the status the role gets. A 409 or 422 means the permission let the call through
and the state or the body (chosen to change nothing) answered: the request reached the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from tests.conftest import Person, PersonFactory
from tests.labeling.support import (
    create_project,
    dataset_with_images,
    images_of,
    init_project,
    set_leader,
    set_workers,
    tasks_of,
)

ROLES = ("owner", "manager", "label_leader", "review_leader", "labeler", "reviewer", "other",
         "stranger", "staff")  # fmt: skip

P = "/label-projects/{project}"
T1 = "/label-tasks/{t1}"
T3 = "/label-tasks/{t3}"
IMG = "/label-tasks/{t1}/images/{image}"


def _replace(role: str, person: str) -> dict[str, Any]:
    return {"role": role, "old": f"@{person}", "new": f"@{person}"}


# fmt: off
#  method  path                       body                                              owner mgr  LL   RL   lab  rev  other str  staff
MATRIX: list[tuple[str, str, Any, tuple[int, ...]]] = [
    ("POST",  "/label-projects",        {"datasets": ["@dataset"], "managers": ["@manager"],
                                         "categories": [], "name": "x"},                (422, 404, 404, 404, 404, 404, 404, 404, 422)),
    ("GET",   "/label-projects",        None,                                             (200, 200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",   P,                        None,                                             (200, 200, 200, 200, 200, 200, 200, 404, 200)),
    ("PATCH", P,                        {"description": "edited"},                        (200, 403, 403, 403, 403, 403, 403, 404, 200)),
    ("POST",  P + "/init",              {"batch_size": 1, "label_times": 1,
                                         "review_times": 1},                              (403, 409, 403, 403, 403, 403, 403, 404, 409)),
    ("GET",   P + "/progress",          None,                                             (200, 200, 200, 200, 403, 403, 403, 404, 200)),
    ("GET",   P + "/roles",             None,                                             (200, 200, 200, 200, 403, 403, 403, 404, 200)),
    ("GET",   P + "/tasks",             None,                                             (200, 200, 200, 200, 200, 200, 200, 404, 200)),
    ("POST",  P + "/qa",                {"action": "accept"},                             (409, 403, 403, 403, 403, 403, 403, 404, 409)),
    ("POST",  P + "/export",            {"label_set": "out"},                             (409, 403, 403, 403, 403, 403, 403, 404, 409)),
    ("GET",   T1,                       None,                                             (200, 200, 200, 200, 200, 200, 404, 404, 200)),
    ("GET",   T1 + "/roles",            None,                                             (200, 200, 200, 200, 200, 200, 404, 404, 200)),
    ("POST",  T1 + "/leaders",          {"role": "label_leader",
                                         "username": "@label_leader"},                    (403, 422, 403, 403, 403, 403, 404, 404, 422)),
    ("POST",  T3 + "/workers",          {"role": "labeler", "usernames": []},             (403, 403, 422, 403, 404, 404, 404, 404, 403)),
    ("POST",  T3 + "/workers",          {"role": "reviewer", "usernames": []},            (403, 403, 403, 422, 404, 404, 404, 404, 403)),
    ("POST",  T1 + "/workers/replace",  _replace("labeler", "labeler"),                   (403, 403, 422, 403, 403, 403, 404, 404, 403)),
    ("POST",  T1 + "/workers/replace",  _replace("reviewer", "reviewer"),                 (403, 403, 403, 422, 403, 403, 404, 404, 403)),
    ("POST",  T1 + "/restart",          None,                                             (403, 403, 409, 403, 403, 403, 404, 404, 403)),
    ("POST",  T1 + "/qa",               {"action": "accept"},                             (403, 409, 403, 403, 403, 403, 404, 404, 409)),
    ("GET",   T1 + "/images",           None,                                             (200, 200, 200, 200, 200, 200, 404, 404, 200)),
    ("GET",   IMG,                      None,                                             (200, 200, 200, 200, 200, 200, 404, 404, 200)),
    ("PUT",   IMG + "/label",           {"annotations": [{"category": "horse"}]},         (403, 403, 403, 403, 422, 403, 404, 404, 403)),
    ("POST",  IMG + "/reviews",         {"label_id": 1, "action": "accept"},              (403, 403, 403, 403, 403, 409, 404, 404, 403)),
    ("GET",   T1 + "/agreement",        None,                                             (200, 200, 200, 200, 403, 403, 404, 404, 200)),
]
# fmt: on


@dataclass
class World:
    people: dict[str, Person]
    values: dict[str, Any]

    def fill(self, value: Any) -> Any:
        """Path parameters and ``@name`` placeholders (usernames, the dataset id) filled in."""
        if isinstance(value, str):
            if value.startswith("@"):
                name = value[1:]
                return self.values[name] if name in self.values else self.people[name].username
            return value.format(**self.values)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture(scope="module")
def world(make_person: PersonFactory, alice: Person, charlie: Person, admin: Person) -> World:
    people = {
        "owner": alice,
        "manager": make_person("manager"),
        "label_leader": make_person("label-leader"),
        "review_leader": make_person("review-leader"),
        "labeler": make_person("labeler"),
        "reviewer": make_person("reviewer"),
        "other": make_person("other-task-labeler"),
        "stranger": charlie,
        "staff": admin,
    }
    other_reviewer = make_person("other-task-reviewer")
    dataset = dataset_with_images(alice, 6)
    project = create_project(alice, [dataset["id"]], [people["manager"]])
    init_project(people["manager"], project["id"], batch_size=2, label_times=1, review_times=1)
    t1, t2, t3 = (t["id"] for t in tasks_of(people["manager"], project["id"]))
    for task in (t1, t2, t3):
        set_leader(people["manager"], task, "label_leader", people["label_leader"])
        set_leader(people["manager"], task, "review_leader", people["review_leader"])
    set_workers(people["label_leader"], t1, "labeler", [people["labeler"]])
    set_workers(people["review_leader"], t1, "reviewer", [people["reviewer"]])
    set_workers(people["label_leader"], t2, "labeler", [people["other"]])
    set_workers(people["review_leader"], t2, "reviewer", [other_reviewer])
    image = images_of(people["manager"], t1)[0]["id"]
    values = {"project": project["id"], "t1": t1, "t3": t3, "image": image,
              "dataset": dataset["id"]}  # fmt: skip
    return World(people, values)


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
def test_every_role_gets_what_the_matrix_says(
    world: World, method: str, path: str, body: Any, expected: tuple[int, ...]
) -> None:
    got = {}
    for role in ROLES:
        person = world.people[role]
        kwargs = {} if body is None else {"json": world.fill(body)}
        response = person.http.request(method, world.fill(path), **kwargs)
        got[role] = response.status_code
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, response.text
    assert got == dict(zip(ROLES, expected, strict=True))


def test_the_project_list_holds_a_members_projects_only(world: World) -> None:
    project = world.values["project"]
    for role in ROLES:
        listed = world.people[role].http.get("/label-projects", params={"limit": 1000}).json()
        ids = {p["id"] for p in listed["items"]}
        assert (project in ids) == (role != "stranger"), role


def test_a_task_list_holds_every_task_for_managers_and_a_members_own_for_the_others(
    world: World,
) -> None:
    t1, t3 = world.values["t1"], world.values["t3"]
    path = world.fill(P + "/tasks")
    seen = {
        role: [t["id"] for t in world.people[role].http.get(path).json()["items"]]
        for role in ROLES
        if role != "stranger"
    }
    assert len(seen["owner"]) == len(seen["manager"]) == len(seen["staff"]) == 3
    assert len(seen["label_leader"]) == len(seen["review_leader"]) == 3
    assert seen["labeler"] == seen["reviewer"] == [t1]
    assert t1 not in seen["other"] and t3 not in seen["other"] and len(seen["other"]) == 1


def test_each_role_is_told_its_highest_role_in_a_task(world: World) -> None:
    path = world.fill(T1)
    roles = {role: world.people[role].http.get(path).json().get("my_role") for role in ROLES}
    assert roles == {
        "owner": "owner", "manager": "manager", "label_leader": "label_leader",
        "review_leader": "review_leader", "labeler": "labeler", "reviewer": "reviewer",
        "other": None, "stranger": None, "staff": None,
    }  # fmt: skip

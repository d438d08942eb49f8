"""Pages of task images and of projects cost the same number of queries whatever their length
(in-process ring: the requests run on this thread, so their queries are counted here)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import Person, PersonFactory
from tests.labeling.support import (
    create_project,
    dataset_with_images,
    images_of,
    init_project,
    label,
    make_team,
    ok,
    review,
    staff_task,
    tasks_of,
)


def test_a_page_of_task_images_costs_the_same_queries_for_2_or_12_images(
    make_person: PersonFactory, alice: Person
) -> None:
    team = make_team(make_person, alice, labelers=2, reviewers=1)
    dataset = dataset_with_images(alice, 12, seed=300)
    project = create_project(alice, [dataset["id"]], [team.manager])
    init_project(team.manager, project["id"], batch_size=0, label_times=2, review_times=1)
    (task,) = tasks_of(team.manager, project["id"])
    staff_task(team, task["id"])
    for image in images_of(team.manager, task["id"]):
        made = [
            ok(label(lb, task["id"], image["id"], [{"category": "cat"}])) for lb in team.labelers
        ]
        ok(review(team.reviewers[0], task["id"], image["id"], made[0]["id"], "accept"), 201)

    def count(person: Person, limit: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            page = ok(person.http.get(f"/label-tasks/{task['id']}/images", params={"limit": limit}))
        assert len(page["items"]) == limit
        return len(queries)

    for person in (team.label_leader, team.labelers[0], team.reviewers[0]):
        assert count(person, 2) == count(person, 12)

    def projects(limit: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            ok(alice.http.get("/label-projects", params={"limit": limit}))
        return len(queries)

    create_project(alice, [dataset["id"]], [team.manager])
    assert projects(1) == projects(2)

"""Replacing a worker, who sees which labels, filters by status, and agreement between
labelers: one project of three images, two labelers per image and two reviewers."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Person, PersonFactory
from tests.helpers import assert_error
from tests.labeling.support import (
    Team,
    counters,
    create_project,
    dataset_with_images,
    images_of,
    init_project,
    label,
    make_team,
    ok,
    review,
    roles_by_user,
    staff_task,
    tasks_of,
    wait_for_status,
)


@pytest.fixture(scope="module")
def team(make_person: PersonFactory, alice: Person) -> Team:
    return make_team(make_person, alice, labelers=2, reviewers=2)


@pytest.fixture(scope="module")
def task_id(team: Team) -> int:
    dataset = dataset_with_images(team.owner, 3, seed=50)
    project = create_project(team.owner, [dataset["id"]], [team.manager])
    init_project(team.manager, project["id"], batch_size=0, label_times=2, review_times=2)
    (task,) = tasks_of(team.manager, project["id"])
    staff_task(team, task["id"])
    return int(task["id"])


def _usernames(image: dict[str, Any]) -> list[str]:
    return sorted(lb["username"] for lb in image["labels"])


def test_a_labeler_sees_only_their_own_label_while_the_task_is_worked_on(
    team: Team, task_id: int
) -> None:
    lab0, lab1 = team.labelers
    first = images_of(lab0, task_id)[0]["id"]
    ok(label(lab0, task_id, first, [{"category": "cat", "bbox": [0, 0, 10, 10]}]))
    ok(label(lab1, task_id, first, [{"category": "cat", "bbox": [1, 0, 10, 10]}]))
    mine = images_of(lab0, task_id)[0]
    assert _usernames(mine) == [lab0.username]
    assert mine["role_status"] == {f"labeler_{lab0.username}": "reviewing"}
    assert mine["my_status"] == "reviewing"
    assert _usernames(images_of(team.reviewers[0], task_id)[0]) == sorted(
        [lab0.username, lab1.username]
    )
    leader_view = images_of(team.review_leader, task_id)[0]
    assert len(leader_view["role_status"]) == 2 + 2 + 2


def test_a_reviewer_sees_their_own_reviews_and_a_labeler_the_reviews_of_their_label(
    team: Team, task_id: int
) -> None:
    r0, r1 = team.reviewers
    first = images_of(r0, task_id)[0]
    labels = {lb["username"]: lb["id"] for lb in first["labels"]}
    ok(review(r0, task_id, first["id"], labels[team.labelers[0].username], "accept"), 201)
    ok(review(r1, task_id, first["id"], labels[team.labelers[0].username], "accept"), 201)
    ok(review(r1, task_id, first["id"], labels[team.labelers[1].username], "accept"), 201)
    seen_by_r0 = {lb["username"]: lb["reviews"] for lb in images_of(r0, task_id)[0]["labels"]}
    assert [r["username"] for r in seen_by_r0[team.labelers[0].username]] == [r0.username]
    assert seen_by_r0[team.labelers[1].username] == []
    (own,) = images_of(team.labelers[0], task_id)[0]["labels"]
    assert sorted(r["username"] for r in own["reviews"]) == sorted([r0.username, r1.username])
    assert images_of(team.labelers[0], task_id)[0]["my_status"] == "accepted"


def test_images_are_filtered_by_a_workers_status(team: Team, task_id: int) -> None:
    lab0 = team.labelers[0]
    assert len(images_of(lab0, task_id, status="labeling")) == 2
    assert len(images_of(lab0, task_id, status="accepted")) == 1
    assert len(images_of(team.label_leader, task_id, status="labeling", user=lab0.username)) == 2
    assert len(images_of(team.label_leader, task_id, status="reviewing")) == 1  # overall status
    assert_error(
        lab0.http.get(f"/label-tasks/{task_id}/images", params={"user": team.labelers[1].username}),
        422,
        "invalid_user",
    )
    assert_error(lab0.http.get(f"/label-tasks/{task_id}/images", params={"status": "x"}), 422)


def test_agreement_is_shown_to_leaders_per_image_and_per_labeler(team: Team, task_id: int) -> None:
    page = ok(team.label_leader.http.get(f"/label-tasks/{task_id}/agreement"))
    (item,) = page["items"]
    assert item["agreement"]["labelers"] == 2
    assert item["agreement"]["matched"] == 1.0
    assert 0.8 < item["agreement"]["mean_iou"] < 1.0
    assert set(page["labelers"]) == {lb.username for lb in team.labelers}
    assert_error(team.labelers[0].http.get(f"/label-tasks/{task_id}/agreement"), 403, "forbidden")


def test_a_replaced_labeler_hands_over_progress_and_labels(
    team: Team, task_id: int, make_person: PersonFactory
) -> None:
    lab1 = team.labelers[1]
    before = roles_by_user(team.label_leader, task_id)[lab1.username, "labeler"]
    newcomer = make_person("newcomer")
    body = {"role": "labeler", "old": lab1.username, "new": newcomer.username}
    assert_error(lab1.http.post(f"/label-tasks/{task_id}/workers/replace", json=body), 403)
    ok(team.label_leader.http.post(f"/label-tasks/{task_id}/workers/replace", json=body))

    roles = roles_by_user(team.label_leader, task_id)
    assert (lab1.username, "labeler") not in roles
    assert counters(roles[newcomer.username, "labeler"]) == counters(before)
    first = images_of(newcomer, task_id)[0]
    assert _usernames(first) == [newcomer.username]
    assert first["my_status"] == "reviewing"  # one reviewer of two has accepted it
    assert [r["username"] for r in first["labels"][0]["reviews"]] == [team.reviewers[1].username]
    assert_error(lab1.http.get(f"/label-tasks/{task_id}"), 404, "task_not_found")
    all_roles = ok(team.label_leader.http.get(f"/label-tasks/{task_id}/roles"))
    assert {(r["username"], r["is_active"]) for r in all_roles if r["role"] == "labeler"} >= {
        (lab1.username, False), (newcomer.username, True)
    }  # fmt: skip
    team.labelers[1] = newcomer


def test_an_export_writes_one_label_set_per_labeler_when_asked(team: Team, task_id: int) -> None:
    project_id = ok(team.manager.http.get(f"/label-tasks/{task_id}"))["project_id"]
    for image in images_of(team.label_leader, task_id):
        made = {
            lb.username: ok(label(lb, task_id, image["id"], [{"category": "dog"}]))["id"]
            for lb in team.labelers
            if not any(x["username"] == lb.username for x in image["labels"])
        }
        for reviewer in team.reviewers:
            current = ok(reviewer.http.get(f"/label-tasks/{task_id}/images/{image['id']}"))
            for lb in current["labels"]:
                if not any(r["username"] == reviewer.username for r in lb["reviews"]):
                    ok(review(reviewer, task_id, image["id"], lb["id"], "accept"), 201)
        assert made or image["status"] != "labeling"
    ok(team.manager.http.post(f"/label-tasks/{task_id}/qa", json={"action": "accept"}))
    ok(team.owner.http.post(f"/label-projects/{project_id}/qa", json={"action": "accept"}))
    body = {"label_set": "team", "mode": "per_labeler"}
    ok(team.owner.http.post(f"/label-projects/{project_id}/export", json=body), 202)
    report = wait_for_status(team.owner, project_id, "exported")["export_report"]
    (part,) = report["datasets"]
    assert part["label_sets"] == sorted(f"team-{lb.username}" for lb in team.labelers)
    assert part["annotations"] == 2 * 3

"""A project from creation to export through every status, with every counter checked.

Two tasks of two images each, two labelers per image and one reviewer per label.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Person, PersonFactory
from tests.datasets.helpers import add_annotations, new_category, new_label_set
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
    project_counters,
    review,
    roles_by_user,
    set_leader,
    set_workers,
    staff_task,
    tasks_of,
    wait_for_status,
)

BOX = {"category": "cat", "bbox": [2, 3, 10, 8]}


@pytest.fixture(scope="module")
def team(make_person: PersonFactory, alice: Person) -> Team:
    return make_team(make_person, alice, labelers=2, reviewers=1)


@pytest.fixture(scope="module")
def dataset(alice: Person) -> dict[str, Any]:
    dataset = dataset_with_images(alice, 4)
    pred = new_label_set(alice, dataset["id"], "pred", kind="Pred")
    cat = new_category(alice, dataset["id"], "cat")
    first = ok(alice.http.get(f"/datasets/{dataset['id']}/images"))["items"][0]
    add_annotations(
        alice,
        dataset["id"],
        [
            {
                "image_id": first["id"],
                "label_set_id": pred,
                "category_id": cat,
                "bbox": [1, 1, 5, 5],
                "conf": 0.7,
            }
        ],
    )
    return dataset


def _project(team: Team, dataset: dict[str, Any]) -> dict[str, Any]:
    return create_project(
        team.owner, [dataset["id"]], [team.manager], ["Dog ", "cat", "dog"], pre_label="pred"
    )


def _label_and_accept(team: Team, task_id: int) -> None:
    for image in images_of(team.label_leader, task_id):
        labels = [ok(label(lb, task_id, image["id"], [BOX])) for lb in team.labelers]
        for made in labels:
            ok(review(team.reviewers[0], task_id, image["id"], made["id"], "accept"), 201)


def test_a_project_goes_from_creation_to_export_with_exact_counters(
    team: Team, dataset: dict[str, Any], alice: Person
) -> None:
    project = _project(team, dataset)
    assert project["status"] == "waiting"
    assert project["categories"] == ["cat", "dog"]
    assert project["managers"] == [team.manager.username]
    assert project["owner"] == alice.username
    pid = project["id"]

    project = init_project(team.manager, pid, batch_size=2, label_times=2, review_times=1)
    assert project_counters(project) == {
        "total": 2, "waiting": 2, "working": 0, "reviewing": 0, "rejected": 0, "accepted": 0
    }  # fmt: skip
    t1, t2 = (t["id"] for t in tasks_of(team.manager, pid))
    assert [t["num_total"] for t in tasks_of(team.manager, pid)] == [2, 2]
    first = images_of(team.manager, t1)[0]
    assert first["default_labels"] == [
        {"category": "cat", "bbox": [1.0, 1.0, 5.0, 5.0], "segmentation": None,
         "keypoints": None, "caption": "", "is_group": False, "conf": 0.7}
    ]  # fmt: skip

    # A task starts working when its review leader is set (the label leader alone is not enough
    # while labels are reviewed).
    set_leader(team.manager, t1, "label_leader", team.label_leader)
    assert ok(team.manager.http.get(f"/label-tasks/{t1}"))["status"] == "waiting"
    set_leader(team.manager, t1, "review_leader", team.review_leader)
    task = ok(team.manager.http.get(f"/label-tasks/{t1}"))
    assert task["status"] == "working"
    assert task["label_leader"] == team.label_leader.username
    project = ok(team.manager.http.get(f"/label-projects/{pid}"))
    assert (project["task_num_waiting"], project["task_num_working"]) == (1, 1)

    lab0, lab1 = team.labelers
    reviewer = team.reviewers[0]
    set_workers(team.label_leader, t1, "labeler", team.labelers)
    set_workers(team.review_leader, t1, "reviewer", team.reviewers)
    roles = roles_by_user(team.label_leader, t1)
    assert counters(roles[lab0.username, "labeler"]) == (2, 0, 0, 0, False, False)
    assert counters(roles[reviewer.username, "reviewer"]) == (2, 0, 0, 0, False, False)

    a, b = images_of(team.label_leader, t1)
    made0 = ok(label(lab0, t1, a["id"], [BOX]))
    roles = roles_by_user(team.label_leader, t1)
    assert counters(roles[lab0.username, "labeler"]) == (1, 1, 0, 0, False, False)
    assert counters(roles[lab1.username, "labeler"]) == (2, 0, 0, 0, False, False)
    assert_error(review(reviewer, t1, a["id"], made0["id"], "accept"), 409, "image_not_reviewing")

    made1 = ok(label(lab1, t1, a["id"], [{"category": "dog"}]))
    assert images_of(team.label_leader, t1)[0]["status"] == "reviewing"
    roles = roles_by_user(team.label_leader, t1)
    assert counters(roles[reviewer.username, "reviewer"]) == (1, 1, 0, 0, False, False)
    assert counters(roles[team.label_leader.username, "label_leader"]) == (1, 1, 0, 0, False, False)

    # A rejection sends the labeler back; nobody reviews that image until they labeled again.
    ok(review(reviewer, t1, a["id"], made0["id"], "reject"), 201)
    roles = roles_by_user(team.label_leader, t1)
    assert counters(roles[lab0.username, "labeler"]) == (1, 0, 1, 0, False, False)
    assert counters(roles[reviewer.username, "reviewer"]) == (1, 0, 1, 0, False, False)
    assert images_of(lab0, t1, status="rejected")[0]["id"] == a["id"]
    assert_error(review(reviewer, t1, a["id"], made1["id"], "accept"), 409, "image_not_reviewing")

    made0 = ok(label(lab0, t1, a["id"], [BOX, {"category": "cat"}]))
    ok(review(reviewer, t1, a["id"], made0["id"], "accept"), 201)
    assert_error(review(reviewer, t1, a["id"], made0["id"], "accept"), 409, "already_reviewed")
    ok(review(reviewer, t1, a["id"], made1["id"], "accept"), 201)
    assert_error(label(lab0, t1, a["id"], [BOX]), 409, "label_accepted")
    roles = roles_by_user(team.label_leader, t1)
    assert counters(roles[lab0.username, "labeler"]) == (1, 0, 0, 1, False, False)
    assert counters(roles[reviewer.username, "reviewer"]) == (1, 0, 0, 1, False, False)
    assert images_of(team.label_leader, t1)[0]["role_status"] == {
        f"labeler_{lab0.username}": "accepted",
        f"labeler_{lab1.username}": "accepted",
        f"reviewer_{reviewer.username}": "accepted",
        "label_leader": "accepted",
        "review_leader": "accepted",
    }

    made = [ok(label(labeler, t1, b["id"], [BOX])) for labeler in team.labelers]
    for one in made:
        ok(review(reviewer, t1, b["id"], one["id"], "accept"), 201)
    roles = roles_by_user(team.label_leader, t1)
    assert all(counters(r) == (0, 0, 0, 2, True, True) for r in roles.values())
    assert ok(team.manager.http.get(f"/label-tasks/{t1}"))["status"] == "reviewing"
    assert ok(team.manager.http.get(f"/label-projects/{pid}"))["task_num_reviewing"] == 1

    # The manager rejects the task; its label leader restarts it: every image back to rejected.
    assert_error(
        team.label_leader.http.post(f"/label-tasks/{t1}/restart"), 409, "task_not_rejected"
    )
    ok(team.manager.http.post(f"/label-tasks/{t1}/qa", json={"action": "reject"}))
    assert ok(team.manager.http.get(f"/label-projects/{pid}"))["task_num_rejected"] == 1
    assert_error(label(lab0, t1, b["id"], [BOX]), 409, "task_not_working")
    ok(team.label_leader.http.post(f"/label-tasks/{t1}/restart"))
    roles = roles_by_user(team.label_leader, t1)
    assert all(counters(r) == (0, 0, 2, 0, False, False) for r in roles.values())
    _label_and_accept(team, t1)
    assert ok(team.manager.http.get(f"/label-tasks/{t1}"))["status"] == "reviewing"
    ok(team.manager.http.post(f"/label-tasks/{t1}/qa", json={"action": "accept"}))

    staff_task(team, t2)
    _label_and_accept(team, t2)
    ok(team.manager.http.post(f"/label-tasks/{t2}/qa", json={"action": "accept"}))
    project = ok(team.owner.http.get(f"/label-projects/{pid}"))
    assert project["status"] == "reviewing"
    assert project_counters(project)["accepted"] == 2

    # The owner rejects the project; a manager rejects an accepted task, which takes the project
    # back to work; once it is accepted again the owner accepts the project.
    ok(team.owner.http.post(f"/label-projects/{pid}/qa", json={"action": "reject"}))
    ok(team.manager.http.post(f"/label-tasks/{t2}/qa", json={"action": "reject"}))
    project = ok(team.owner.http.get(f"/label-projects/{pid}"))
    assert (project["status"], project["task_num_rejected"]) == ("working", 1)
    ok(team.manager.http.post(f"/label-tasks/{t2}/qa", json={"action": "force_accept"}))
    assert ok(team.owner.http.get(f"/label-projects/{pid}"))["status"] == "reviewing"
    assert_error(
        team.owner.http.post(f"/label-projects/{pid}/export", json={"label_set": "x"}),
        409,
        "project_not_accepted",
    )
    ok(team.owner.http.post(f"/label-projects/{pid}/qa", json={"action": "accept"}))

    progress = ok(team.owner.http.get(f"/label-projects/{pid}/progress"))
    assert progress["images"] == {"labeling": 0, "reviewing": 0, "accepted": 4, "rejected": 0}
    assert {
        (p["username"], p["role"], p["tasks"], p["review_num_accepted"]) for p in progress["people"]
    } >= {
        (lab0.username, "labeler", 2, 4),
        (reviewer.username, "reviewer", 2, 4),
    }

    ok(team.owner.http.post(f"/label-projects/{pid}/export", json={"label_set": "reviewed"}), 202)
    project = wait_for_status(team.owner, pid, "exported")
    report = project["export_report"]
    assert report["annotations"] == 4  # the two labelers' boxes merged into one per image
    assert report["skipped_images"] == 0
    assert report["labelers"][lab0.username]["matched"] == 1.0
    sets = ok(team.owner.http.get(f"/datasets/{dataset['id']}/label-sets"))["items"]
    exported = next(s for s in sets if s["name"] == "reviewed")
    assert exported["kind"] == "User"
    stats = ok(team.owner.http.get(f"/datasets/{dataset['id']}/stats"))
    counts = next(s for s in stats["label_sets"] if s["name"] == "reviewed")
    assert counts["num_annotations"] == 4
    assert_error(
        team.owner.http.post(f"/label-projects/{pid}/export", json={"label_set": "again"}),
        409,
        "project_not_accepted",
    )


def test_a_project_is_initialised_once(team: Team, dataset: dict[str, Any]) -> None:
    pid = _project(team, dataset)["id"]
    init_project(team.manager, pid, batch_size=0, label_times=1, review_times=0)
    assert [t["num_total"] for t in tasks_of(team.manager, pid)] == [4]
    again = team.manager.http.post(
        f"/label-projects/{pid}/init", json={"batch_size": 1, "label_times": 1, "review_times": 0}
    )
    error = assert_error(again, 409, "project_not_waiting")
    assert error["details"]["status"] == "working"


def test_without_reviews_the_label_leader_starts_the_task_and_labels_finish_it(
    team: Team, dataset: dict[str, Any]
) -> None:
    pid = _project(team, dataset)["id"]
    init_project(team.manager, pid, batch_size=0, label_times=1, review_times=0)
    (task,) = tasks_of(team.manager, pid)
    set_leader(team.manager, task["id"], "label_leader", team.label_leader)
    assert ok(team.manager.http.get(f"/label-tasks/{task['id']}"))["status"] == "working"
    assert_error(
        team.manager.http.post(
            f"/label-tasks/{task['id']}/leaders",
            json={"role": "review_leader", "username": team.review_leader.username},
        ),
        422,
        "reviews_not_required",
    )
    set_workers(team.label_leader, task["id"], "labeler", team.labelers[:1])
    for image in images_of(team.labelers[0], task["id"]):
        ok(label(team.labelers[0], task["id"], image["id"], [{"category": "dog"}]))
    assert ok(team.manager.http.get(f"/label-tasks/{task['id']}"))["status"] == "reviewing"


def test_bad_configurations_and_bad_labels_are_refused_and_change_nothing(
    team: Team, dataset: dict[str, Any]
) -> None:
    pid = _project(team, dataset)["id"]
    bad = team.manager.http.post(
        f"/label-projects/{pid}/init", json={"batch_size": 2, "label_times": 0, "review_times": 0}
    )
    assert_error(bad, 422, "invalid_config")
    assert ok(team.manager.http.get(f"/label-projects/{pid}"))["status"] == "waiting"
    extra = team.manager.http.post(
        f"/label-projects/{pid}/init",
        json={"batch_size": 2, "label_times": 1, "review_times": 0, "colour": "red"},
    )
    assert_error(extra, 422, "validation_error")

    init_project(team.manager, pid, batch_size=4, label_times=1, review_times=0)
    (task,) = tasks_of(team.manager, pid)
    set_leader(team.manager, task["id"], "label_leader", team.label_leader)
    assert_error(
        team.label_leader.http.post(
            f"/label-tasks/{task['id']}/workers",
            json={"role": "labeler", "usernames": [u.username for u in team.labelers]},
        ),
        422,
        "worker_count_mismatch",
    )
    labeler = team.labelers[0]
    set_workers(team.label_leader, task["id"], "labeler", [labeler])
    image = images_of(labeler, task["id"])[0]
    error = assert_error(
        label(labeler, task["id"], image["id"], [
            {"category": "cat", "bbox": [20, 20, 30, 30]},  # outside the 32x24 image
            {"category": "horse"},
            {"segmentation": [[1, 2, 3]]},
        ]),
        422,
        "invalid_annotations",
    )  # fmt: skip
    assert [(e["index"], e["field"]) for e in error["details"]["errors"]] == [
        (0, "bbox"), (1, "category"), (2, "segmentation")
    ]  # fmt: skip
    assert_error(label(labeler, task["id"], image["id"], [{"category": "cat", "shape": 1}]), 422)
    after = images_of(labeler, task["id"])[0]
    assert after["labels"] == [] and after["my_status"] == "labeling"


def test_a_project_may_cover_chosen_images_of_its_datasets_only(
    team: Team, dataset: dict[str, Any], alice: Person
) -> None:
    ids = [i["id"] for i in ok(alice.http.get(f"/datasets/{dataset['id']}/images"))["items"]]
    chosen = [ids[3], ids[1]]
    project = _project_with(team, dataset, images=chosen)
    assert project["image_subset"] is True
    init_project(team.manager, project["id"], batch_size=0, label_times=1, review_times=0)
    (task,) = tasks_of(team.manager, project["id"])
    assert task["num_total"] == 2
    assert [i["image_id"] for i in images_of(team.manager, task["id"])] == [ids[1], ids[3]]

    elsewhere = dataset_with_images(alice, 1, seed=900)
    stray = ok(alice.http.get(f"/datasets/{elsewhere['id']}/images"))["items"][0]["id"]
    body = {"name": "x", "datasets": [dataset["id"]], "managers": [team.manager.username],
            "categories": ["cat"], "images": [ids[0], stray]}  # fmt: skip
    error = assert_error(
        alice.http.post("/label-projects", json=body), 422, "images_not_in_datasets"
    )
    assert error["details"]["images"] == [stray]


def _project_with(team: Team, dataset: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return create_project(team.owner, [dataset["id"]], [team.manager], ["cat"], **fields)

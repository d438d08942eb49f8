"""Counters stay exact while labelers and reviewers work at the same moment.

Real concurrent requests against a real ``visionhub serve`` (threads of HTTP clients), on
whichever database the run uses. After each phase every counter of every role is compared with
a recount of the statuses the images show, and with the figures the phase must end at.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.conftest import Person, PersonFactory
from tests.labeling.support import (
    Team,
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
)

pytestmark = pytest.mark.process

IMAGES = 12
THREADS = 12
STATUSES = ("labeling", "reviewing", "rejected", "accepted")


@pytest.fixture(scope="module")
def team(make_person: PersonFactory, alice: Person) -> Team:
    return make_team(make_person, alice, labelers=3, reviewers=2)


def _recount_matches_counters(team: Team, task_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    images = images_of(team.label_leader, task_id)
    recount: dict[str, Counter[str]] = {}
    for image in images:
        for key, status in image["role_status"].items():
            recount.setdefault(key, Counter())[status] += 1
    roles = roles_by_user(team.label_leader, task_id)
    for (username, role), row in roles.items():
        key = role if role.endswith("leader") else f"{role}_{username}"
        seen = recount[key]
        assert (
            row["label_num_waiting"],
            row["review_num_waiting"],
            row["review_num_rejected"],
            row["review_num_accepted"],
        ) == tuple(seen[s] for s in STATUSES), (username, role)
        assert sum(seen.values()) == IMAGES
    return roles


def _run(calls: list[Any]) -> list[Any]:
    random.Random(7).shuffle(calls)
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_concurrent_labels_and_reviews_keep_every_counter_exact(team: Team) -> None:
    dataset = dataset_with_images(team.owner, IMAGES, seed=100)
    project = create_project(team.owner, [dataset["id"]], [team.manager])
    init_project(team.manager, project["id"], batch_size=0, label_times=3, review_times=2)
    (task,) = tasks_of(team.manager, project["id"])
    tid = task["id"]
    staff_task(team, tid)
    images = [i["id"] for i in images_of(team.manager, tid)]
    box = [{"category": "cat", "bbox": [1, 1, 8, 8]}]

    # Phase 1: three labelers label every image at once.
    answers = _run(
        [lambda p=p, i=i: label(p, tid, i, box).status_code for p in team.labelers for i in images]
    )
    assert answers == [200] * len(answers)
    roles = _recount_matches_counters(team, tid)
    for labeler in team.labelers:
        assert roles[labeler.username, "labeler"]["review_num_waiting"] == IMAGES
    for reviewer in team.reviewers:
        assert roles[reviewer.username, "reviewer"]["review_num_waiting"] == IMAGES

    # Phase 2: both reviewers review every label at once; the first reviewer rejects the first
    # labeler's labels on four images. A review of an image whose label was just rejected is
    # refused (the image waits for a new label), so what is reviewed depends on the timing;
    # the counters must match the statuses whatever it was.
    labels = {
        i: {lb["username"]: lb["id"] for lb in image["labels"]}
        for i, image in ((img["id"], img) for img in images_of(team.label_leader, tid))
    }
    rejected = set(images[:4])
    lab0 = team.labelers[0].username

    def verdict(reviewer: Person, image: int, labeler: str) -> int:
        action = (
            "reject"
            if reviewer is team.reviewers[0] and image in rejected and labeler == lab0
            else "accept"
        )
        return int(review(reviewer, tid, image, labels[image][labeler], action).status_code)

    answers = _run(
        [
            lambda r=r, i=i, lb=lb: verdict(r, i, lb)
            for r in team.reviewers
            for i in images
            for lb in labels[i]
        ]
    )
    assert set(answers) <= {201, 409}
    assert answers.count(201) >= 2 * 3 * (IMAGES - len(rejected)) + len(rejected)
    roles = _recount_matches_counters(team, tid)
    assert roles[lab0, "labeler"]["review_num_rejected"] == len(rejected)
    assert roles[lab0, "labeler"]["review_num_accepted"] == IMAGES - len(rejected)

    # Phase 3: the labeler labels the rejected images again while the reviewers finish.
    answers = _run([lambda i=i: label(team.labelers[0], tid, i, box).status_code for i in rejected])
    assert answers == [200] * len(rejected)
    _recount_matches_counters(team, tid)

    def finish(reviewer: Person, image: int) -> list[int]:
        current = ok(reviewer.http.get(f"/label-tasks/{tid}/images/{image}"))
        return [
            review(reviewer, tid, image, lb["id"], "accept").status_code
            for lb in current["labels"]
            if not any(r["username"] == reviewer.username for r in lb["reviews"])
        ]

    answers = _run([lambda r=r, i=i: finish(r, i) for r in team.reviewers for i in rejected])
    assert {code for codes in answers for code in codes} <= {201}
    roles = _recount_matches_counters(team, tid)
    done = (0, 0, 0, IMAGES, True, True)
    for row in roles.values():
        assert (
            row["label_num_waiting"], row["review_num_waiting"], row["review_num_rejected"],
            row["review_num_accepted"], row["label_completed"], row["review_completed"],
        ) == done  # fmt: skip
    assert ok(team.manager.http.get(f"/label-tasks/{tid}"))["status"] == "reviewing"
    project = ok(team.manager.http.get(f"/label-projects/{project['id']}"))
    assert (project["task_num_reviewing"], project["task_num_working"]) == (1, 0)

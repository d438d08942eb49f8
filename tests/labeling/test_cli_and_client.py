"""``visionhub label …`` and ``Client.labeling``: a project run from the command line and the
Python client, as its owner, manager, leader, labeler and reviewer would."""

from __future__ import annotations

import pytest
from tests.conftest import Person, PersonFactory, Server
from tests.labeling.support import dataset_with_images, run_queued_tasks

from visionhub.client import ClientError


def _env(person: Person) -> dict[str, str]:
    return {"VISIONHUB_TOKEN": person.token}


def test_a_project_runs_from_the_command_line_and_the_client(
    server: Server, make_person: PersonFactory, alice: Person
) -> None:
    manager, leader, labeler, reviewer = (
        make_person(n) for n in ("manager", "leader", "labeler", "reviewer")
    )
    dataset = dataset_with_images(alice, 3)
    created = server.cli(
        "label", "project", "create", "digits",
        "--dataset", dataset["name"], "--manager", manager.username,
        "--category", "three", "--category", "eight", env=_env(alice),
    )  # fmt: skip
    project_id = int(created.stdout.strip().splitlines()[-1])

    # The CLI waits for the background split; in the in-process ring the test runs the queue.
    queued = manager.client.labeling.init_project(
        project_id, batch_size=0, label_times=1, review_times=1, wait=False
    )
    assert queued["status"] == "initializing"
    run_queued_tasks(alice)
    shown = server.cli("label", "project", "show", str(project_id), env=_env(manager)).stdout
    assert "[working]" in shown and "tasks: 1" in shown

    listed = server.cli("label", "task", "list", str(project_id), env=_env(manager)).stdout
    task_id = int(listed.split("\t")[0])
    server.cli(
        "label", "task", "workers", str(task_id), "--label-leader", leader.username,
        "--review-leader", leader.username, env=_env(manager),
    )  # fmt: skip
    server.cli(
        "label", "task", "workers", str(task_id), "--labeler", labeler.username, env=_env(leader)
    )
    roles = server.cli(
        "label", "task", "workers", str(task_id), "--reviewer", reviewer.username, env=_env(leader)
    ).stdout  # fmt: skip
    assert f"{labeler.username}\tlabeler\tto label 3" in roles

    for image in labeler.client.labeling.task_images(task_id, status="labeling"):
        labeler.client.labeling.set_label(task_id, image["id"], [{"category": "three"}])
    for image in reviewer.client.labeling.task_images(task_id, status="reviewing"):
        (made,) = image["labels"]
        reviewer.client.labeling.review(task_id, image["id"], made["id"], "accept", "looks right")
    with pytest.raises(ClientError) as refused:
        labeler.client.labeling.qa_task(task_id, "accept")
    assert (refused.value.status, refused.value.code) == (403, "forbidden")

    assert (
        "accepted"
        in server.cli("label", "task", "qa", str(task_id), "accept", env=_env(manager)).stdout
    )
    assert (
        "reviewing"
        in server.cli("label", "project", "show", str(project_id), env=_env(alice)).stdout
    )
    server.cli("label", "project", "qa", str(project_id), "accept", env=_env(alice))

    alice.client.labeling.export_project(project_id, "by-hand", wait=False)
    run_queued_tasks(alice)
    project = alice.client.labeling.wait(project_id)
    assert project["status"] == "exported"
    assert project["export_report"]["annotations"] == 3
    names = [s["name"] for s in alice.client.list_label_sets(dataset["id"])]
    assert "by-hand" in names

    failed = server.cli(
        "label", "project", "qa", str(project_id), "accept", env=_env(alice), check=False
    )
    assert failed.returncode == 1
    assert "project_not_reviewing" in failed.stderr

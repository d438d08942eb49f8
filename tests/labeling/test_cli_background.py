"""``visionhub label project init`` and ``export`` wait for their background task (run by the
task worker that ``visionhub serve`` supervises) and report its outcome."""

from __future__ import annotations

import pytest
from tests.conftest import Person, PersonFactory, Server
from tests.labeling.support import create_project, dataset_with_images

pytestmark = pytest.mark.process


def test_init_and_export_wait_for_the_server_s_task_worker(
    server: Server, make_person: PersonFactory, alice: Person
) -> None:
    manager = make_person("manager")
    dataset = dataset_with_images(alice, 5)
    project = create_project(alice, [dataset["id"]], [manager], ["cat"])
    pid = str(project["id"])
    env = {"VISIONHUB_TOKEN": manager.token}
    out = server.cli(
        "label", "project", "init", pid, "--batch-size", "2", "--review-times", "0", env=env
    )
    assert f"project {pid}: 3 tasks, working" in out.stdout

    labeling = manager.client.labeling
    for task in labeling.tasks(project["id"]):
        labeling.set_leader(task["id"], "label_leader", manager.username)
        labeling.set_workers(task["id"], "labeler", [manager.username])
        for image in labeling.task_images(task["id"]):
            labeling.set_label(task["id"], image["id"], [{"category": "cat", "bbox": [0, 0, 4, 4]}])
        labeling.qa_task(task["id"], "accept")
    alice.client.labeling.qa_project(project["id"], "accept")

    again = server.cli("label", "project", "init", pid, "--batch-size", "1", env=env, check=False)
    assert again.returncode == 1 and "project_not_waiting" in again.stderr
    out = server.cli(
        "label", "project", "export", pid, "--label-set", "boxes", "--mode", "per_labeler",
        env={"VISIONHUB_TOKEN": alice.token},
    )  # fmt: skip
    assert f"boxes-{manager.username}" in out.stdout
    assert "exported: 5 annotations" in out.stdout

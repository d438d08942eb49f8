"""The demo's labeling round: the digits the model got wrong go to a labeling project, where
one user labels them and another reviews the labels, all through the API, and the reviewed
labels are exported back to the dataset as a label set."""

from __future__ import annotations

from typing import Any

from visionhub.client import Client
from visionhub.demo import digits

PROJECT = "digits-mistakes"
LABEL_SET = "relabeled"


def relabel_mistakes(
    owner: Client,
    labeler: Client,
    reviewer: Client,
    *,
    dataset: str,
    mistakes: dict[int, int],
    names: tuple[str, str, str],
) -> dict[str, Any]:
    """Run a project over the images ``mistakes`` maps to their true class: ``owner`` (who
    owns the dataset) creates it and manages it, ``labeler`` labels each image with the class
    it truly shows (the model's guess is its pre-label), ``reviewer`` accepts every label; the
    owner accepts the task and the project and exports it. Returns the export report."""
    owner_name, labeler_name, reviewer_name = names
    created = owner.labeling.create_project(
        PROJECT,
        datasets=[dataset],
        managers=[owner_name],
        categories=digits.CLASSES,
        description="The test digits the deployed model classified wrongly",
        pre_label="pred",
        images=sorted(mistakes),
    )
    project = created["id"]
    owner.labeling.init_project(project, batch_size=0, label_times=1, review_times=1)
    (task,) = list(owner.labeling.tasks(project))
    owner.labeling.set_leader(task["id"], "label_leader", owner_name)
    owner.labeling.set_leader(task["id"], "review_leader", owner_name)
    owner.labeling.set_workers(task["id"], "labeler", [labeler_name])
    owner.labeling.set_workers(task["id"], "reviewer", [reviewer_name])
    for image in labeler.labeling.task_images(task["id"], status="labeling"):
        truth = digits.CLASSES[mistakes[image["image_id"]]]
        labeler.labeling.set_label(task["id"], image["id"], [{"category": truth}])
    for image in reviewer.labeling.task_images(task["id"], status="reviewing"):
        for label in image["labels"]:
            reviewer.labeling.review(task["id"], image["id"], label["id"], "accept")
    owner.labeling.qa_task(task["id"], "accept")
    owner.labeling.qa_project(project, "accept")
    done = owner.labeling.export_project(project, LABEL_SET)
    report: dict[str, Any] = done["export_report"]
    return report

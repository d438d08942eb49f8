"""Writing an accepted project's labels back to its datasets (seed ``export_project``).

Every dataset of the project gets a new label set (kind ``User``): in ``merge`` mode one, where
the labels of an image's labelers are merged by agreement (``agreement.merge_image``); in
``per_labeler`` mode one per labeler, named ``<label set>-<username>``. The annotations go in
through the datasets app's bulk service (``create_annotations``: the same checks, ``COPY`` on
PostgreSQL), a dataset per transaction, so a failed export leaves no label set behind.

Exported: the labels of accepted tasks that no reviewer rejected. Images with no such label
are counted as skipped in the report, which also holds the agreement per labeler.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.db import transaction

from visionhub.datasets.models import Category, Dataset, LabelKind, LabelSet
from visionhub.datasets.services import annotations as dataset_annotations
from visionhub.datasets.services import labels as dataset_labels
from visionhub.labeling import agreement
from visionhub.labeling.models import (
    ExportMode,
    LabelProject,
    LabelTaskImage,
    ProjectStatus,
    ReviewAction,
    Role,
    TaskRole,
    TaskStatus,
    UserLabelData,
)

PAGE = 500
FLUSH = 20_000


def labeler_names(project: LabelProject) -> list[str]:
    """The usernames of the project's active labelers, sorted."""
    return sorted(
        set(
            TaskRole.objects.filter(project=project, role=Role.LABELER, is_active=True).values_list(
                "user__username", flat=True
            )
        )
    )


def _task_images(project: LabelProject, dataset: Dataset) -> Iterator[list[LabelTaskImage]]:
    """The dataset's task images of accepted tasks, a page at a time (keyset on id), each
    with its labels that no reviewer rejected, in labeler order."""
    last = 0
    while True:
        page = list(
            LabelTaskImage.objects.filter(
                task__project=project,
                task__dataset=dataset,
                task__status=TaskStatus.ACCEPTED,
                pk__gt=last,
            )
            .select_related("image")
            .order_by("pk")[:PAGE]
        )
        if not page:
            return
        last = page[-1].pk
        labels: dict[int, list[UserLabelData]] = defaultdict(list)
        for label in (
            UserLabelData.objects.filter(task_image__in=page)
            .exclude(reviews__action=ReviewAction.REJECT)
            .select_related("user")
            .order_by("task_image_id", "user_id")
        ):
            labels[label.task_image_id].append(label)
        for task_image in page:
            task_image.accepted_labels = labels.get(task_image.pk, [])  # type: ignore[attr-defined]
        yield page


def _item(
    annotation: dict[str, Any], image_id: int, label_set: int, categories: dict[str, int]
) -> dict[str, Any]:
    name = annotation.get("category")
    return {
        "image_id": image_id,
        "label_set_id": label_set,
        "category_id": categories.get(name) if name is not None else None,
        "bbox": annotation.get("bbox"),
        "segmentation": annotation.get("segmentation"),
        "keypoints": annotation.get("keypoints"),
        "caption": annotation.get("caption") or "",
        "is_group": bool(annotation.get("is_group")),
        "conf": annotation.get("conf", 1.0),
    }


class _Writer:
    """Buffers annotation items and writes them in bulk through the datasets service."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.items: list[dict[str, Any]] = []
        self.written = 0

    def add(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        if len(self.items) >= FLUSH:
            self.flush()

    def flush(self) -> None:
        if self.items:
            self.written += dataset_annotations.create_annotations(self.dataset, self.items)
            self.items = []


def _export_dataset(
    project: LabelProject,
    dataset: Dataset,
    label_set: str,
    mode: str,
    scores: dict[str, agreement.LabelerScore],
) -> dict[str, Any]:
    categories = dict(Category.objects.filter(dataset=dataset).values_list("name", "pk"))
    targets: dict[str, LabelSet] = {}

    def target(username: str | None) -> LabelSet:
        name = label_set if username is None else f"{label_set}-{username}"
        if name not in targets:
            targets[name] = dataset_labels.create_label_set(dataset, name, kind=LabelKind.USER)
        return targets[name]

    if mode == ExportMode.MERGE:
        target(None)
    writer = _Writer(dataset)
    images = skipped = 0
    for page in _task_images(project, dataset):
        measured: list[LabelTaskImage] = []
        for task_image in page:
            labels: list[UserLabelData] = task_image.accepted_labels  # type: ignore[attr-defined]
            if not labels:
                skipped += 1
                continue
            images += 1
            if mode == ExportMode.PER_LABELER:
                for label in labels:
                    ls = target(label.user.username)
                    for a in label.annotations:
                        writer.add(_item(a, task_image.image_id, ls.pk, categories))
                continue
            merged = agreement.merge_image([(lb.user_id, lb.annotations) for lb in labels])
            if len(labels) > 1:
                task_image.agreement = merged.agreement
                measured.append(task_image)
                names = {lb.user_id: lb.user.username for lb in labels}
                for user_id, score in merged.labelers.items():
                    scores.setdefault(names[user_id], agreement.LabelerScore()).add(score)
            for a in merged.annotations:
                writer.add(_item(a, task_image.image_id, target(None).pk, categories))
        LabelTaskImage.objects.bulk_update(measured, ["agreement"])
    writer.flush()
    return {
        "dataset": dataset.pk,
        "label_sets": sorted(targets),
        "images": images,
        "annotations": writer.written,
        "skipped_images": skipped,
    }


def _delete_label_sets(ids: list[int]) -> None:
    for ls in LabelSet.objects.filter(pk__in=ids):
        dataset_labels.delete_label_set(ls)


def run_export_project(project_id: int, label_set: str, mode: str) -> dict[str, Any]:
    """The background half of ``projects.export_project``: write each dataset's label set(s)
    (a dataset per transaction), then mark the project ``exported`` with the report. On an
    error every label set written is deleted again and the project is back to ``accepted``
    with the error; the error is raised again."""
    project = LabelProject.objects.get(pk=project_id)
    if project.status != ProjectStatus.EXPORTING:
        return {}
    datasets = list(project.datasets.order_by("id"))
    scores: dict[str, agreement.LabelerScore] = {}
    report: dict[str, Any] = {"label_set": label_set, "mode": mode, "datasets": []}
    # A run after a lost worker first removes what the lost one wrote.
    _delete_label_sets(project.export_report.get("partial_label_sets", []))
    written: list[int] = []
    try:
        for n, dataset in enumerate(datasets, 1):
            with transaction.atomic():
                part = _export_dataset(project, dataset, label_set, mode, scores)
            written.extend(
                LabelSet.objects.filter(dataset=dataset, name__in=part["label_sets"]).values_list(
                    "pk", flat=True
                )
            )
            report["datasets"].append(part)
            LabelProject.objects.filter(pk=project.pk).update(
                progress=round(n / len(datasets), 4),
                export_report={"partial_label_sets": written},
            )
    except Exception as exc:
        _delete_label_sets(written)
        LabelProject.objects.filter(pk=project.pk).update(
            status=ProjectStatus.ACCEPTED, error=f"export failed: {exc}", progress=0.0
        )
        raise
    report["labelers"] = {name: s.summary() for name, s in sorted(scores.items())}
    report["annotations"] = sum(d["annotations"] for d in report["datasets"])
    report["skipped_images"] = sum(d["skipped_images"] for d in report["datasets"])
    LabelProject.objects.filter(pk=project.pk).update(
        status=ProjectStatus.EXPORTED, export_report=report, progress=1.0
    )
    return report

"""Creating, running and deleting evaluations.

``create_evaluation`` checks everything a client can get wrong before anything is written
(label sets of this dataset, a GT that is ground truth, geometry the iou_type needs, the
parameters), then stores the evaluation and enqueues its task in one transaction.
``execute`` is the task's body; ``runner`` does the work.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid
from visionhub.datasets.models import Annotation, Category, Dataset, LabelKind, LabelSet
from visionhub.evaluation import runner
from visionhub.evaluation.engine.params import COCO_PERSON_SIGMAS
from visionhub.evaluation.models import Evaluation, IouType, Status

PROGRESS_EVERY = 0.5  # seconds between progress writes


class EvaluationGone(Exception):
    """The evaluation was deleted while it ran."""


def _label_set(dataset: Dataset, name: str, role: str) -> LabelSet:
    found = LabelSet.objects.filter(dataset=dataset, name=name).first()
    if found is None:
        raise Invalid(
            "invalid_label_set",
            f"this dataset has no label set {name!r} (for {role})",
            details={"field": role, "name": name},
        )
    return found


def _missing_geometry(label_set: LabelSet, iou_type: str, *, ground_truth: bool) -> int:
    rows = Annotation.objects.filter(label_set=label_set, category__isnull=False)
    if iou_type == IouType.BBOX:
        lacking = Q(bbox_x__isnull=True)
    elif iou_type == IouType.SEGM:
        lacking = Q(segmentation__isnull=True)
    else:
        lacking = Q(keypoints__isnull=True)
        if ground_truth:
            lacking &= Q(is_group=False)
    return rows.filter(lacking).count()


def _check_geometry(gt: LabelSet, pred: LabelSet, iou_type: str) -> None:
    if iou_type == IouType.CLASSIFICATION:
        several = (
            Annotation.objects.filter(label_set=gt, category__isnull=False)
            .values("image_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .values_list("image_id", flat=True)[:1]
        )
        if several:
            raise Invalid(
                "several_labels_per_image",
                "a classification ground truth has one label per image",
                details={"image_id": several[0]},
            )
        return
    need = {"bbox": "a box", "segm": "a mask (segmentation)", "keypoints": "keypoints"}[iou_type]
    for label_set, role in ((gt, "gt"), (pred, "pred")):
        missing = _missing_geometry(label_set, iou_type, ground_truth=role == "gt")
        if missing:
            raise Invalid(
                "iou_type_unsupported",
                f"iou_type {iou_type} needs {need} on every annotation; {missing} of label set "
                f"{label_set.name!r} have none",
                details={"label_set": label_set.name, "missing": missing, "iou_type": iou_type},
            )


def _check_params(dataset: Dataset, iou_type: str, params: dict[str, Any]) -> None:
    sigmas = params.get("kpt_oks_sigmas")
    if sigmas is not None and iou_type != IouType.KEYPOINTS:
        raise Invalid("invalid_params", "kpt_oks_sigmas is for iou_type keypoints only")
    if iou_type == IouType.KEYPOINTS:
        expected = len(sigmas) if sigmas else len(COCO_PERSON_SIGMAS)
        for name, names in Category.objects.filter(dataset=dataset).values_list(
            "name", "keypoint_names"
        ):
            if names and len(names) != expected:
                raise Invalid(
                    "invalid_params",
                    f"category {name!r} has {len(names)} keypoints; give kpt_oks_sigmas "
                    f"with one sigma each (COCO's defaults are for its 17 person keypoints)",
                    details={"category": name, "keypoints": len(names)},
                )


def create_evaluation(
    dataset: Dataset,
    *,
    gt: str,
    pred: str,
    iou_type: str,
    params: dict[str, Any],
    by: User,
) -> Evaluation:
    """Check the request, store the evaluation ``queued`` and enqueue its task (one
    transaction: the task never runs for an evaluation that was not stored)."""
    from visionhub.evaluation.tasks import run_evaluation

    gt_set = _label_set(dataset, gt, "gt")
    pred_set = _label_set(dataset, pred, "pred")
    if gt_set.kind != LabelKind.GT:
        raise Invalid(
            "not_ground_truth",
            f"label set {gt!r} is of kind {gt_set.kind}, not GT",
            details={"field": "gt", "kind": gt_set.kind},
        )
    if pred_set.pk == gt_set.pk:
        raise Invalid("same_label_set", "gt and pred must be different label sets")
    _check_params(dataset, iou_type, params)
    _check_geometry(gt_set, pred_set, iou_type)
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            dataset=dataset,
            gt=gt_set,
            pred=pred_set,
            iou_type=iou_type,
            params=params,
            created_by=by,
        )
        result = run_evaluation.enqueue(evaluation.pk)
        Evaluation.objects.filter(pk=evaluation.pk).update(task_id=str(result.id))
        evaluation.task_id = str(result.id)
    return evaluation


def delete_evaluation(evaluation: Evaluation) -> None:
    """Delete an evaluation and its error counts (a running one stops at its next step).
    What it wrote on annotations and images stays until the label set is evaluated again."""
    evaluation.delete()


def execute(evaluation_id: int) -> None:
    """Run an evaluation to ``done`` (metrics stored, seed 004's fields written) or to
    ``failed`` with its error; re-running one gives the same outcome."""
    started = timezone.now()
    if not Evaluation.objects.filter(pk=evaluation_id).update(
        status=Status.RUNNING, started_at=started, progress=0.0, error="", finished_at=None
    ):
        return  # deleted before it ran
    evaluation = Evaluation.objects.select_related("dataset").get(pk=evaluation_id)
    last = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and fraction < 1:
            return
        last[0] = now
        if not Evaluation.objects.filter(pk=evaluation_id).update(progress=min(fraction, 1.0)):
            raise EvaluationGone(evaluation_id)

    try:
        metrics = runner.run(evaluation, progress)
    except EvaluationGone:
        return
    except Exception as exc:
        Evaluation.objects.filter(pk=evaluation_id).update(
            status=Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        raise
    with transaction.atomic():
        if "compare_precisions" in metrics:
            LabelSet.objects.filter(pk=evaluation.pred_id).update(
                compare_precisions=metrics["compare_precisions"]
            )
        Evaluation.objects.filter(pk=evaluation_id).update(
            status=Status.DONE, progress=1.0, metrics=metrics, finished_at=timezone.now()
        )


def mark_failed_by_task(task_id: str, message: str) -> None:
    """The task ended failed without the evaluation saying so (its worker died)."""
    Evaluation.objects.filter(task_id=task_id).exclude(status=Status.FAILED).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


def check_done(evaluation: Evaluation) -> Evaluation:
    if evaluation.status != Status.DONE:
        raise Conflict(
            "evaluation_not_done",
            f"the evaluation is {evaluation.status}",
            details={"status": evaluation.status},
        )
    return evaluation

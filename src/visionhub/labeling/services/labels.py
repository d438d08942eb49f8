"""A labeler's label and a reviewer's review of one task image, and the statuses they move
(seed ``LabelTaskImageModel.set_label`` / ``set_review``).

A labeler's status on an image is kept in ``ImageRoleStatus``: ``labeling`` until they label,
``reviewing`` once labeled, ``rejected`` when a reviewer rejects the label (they label again),
``accepted`` when ``review_times`` reviewers accepted it. The reviewers' statuses and the
image's overall one follow from those and from the reviews (``_settle``), and the task's
counters are recounted (``tasks.update_progress_for_all_roles``), all in the transaction that
holds the task row locked: concurrent labelers and reviewers queue on it, and every count is
exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid, NotFound
from visionhub.datasets.models import Category
from visionhub.datasets.services import annotations as dataset_annotations
from visionhub.labeling.models import (
    ImageRoleStatus,
    ImageStatus,
    LabelTask,
    LabelTaskImage,
    ReviewAction,
    Role,
    TaskRole,
    TaskStatus,
    UserLabelData,
    UserReviewData,
)
from visionhub.labeling.services.common import require_status
from visionhub.labeling.services.tasks import locked_task, update_progress_for_all_roles

MAX_ANNOTATIONS = 10_000
LABEL_FIELDS = ("category", "bbox", "segmentation", "keypoints", "caption", "is_group", "conf")
_DONE = (ImageStatus.REVIEWING, ImageStatus.ACCEPTED)


def check_label(
    task: LabelTask, task_image: LabelTaskImage, items: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``items`` as stored labels, or 422 ``invalid_annotations`` listing every violation as
    ``{index, field, reason}``. The category must be one of the project's; a label without
    geometry (a class) needs one; the geometry is checked against the image by the datasets
    app's own validation (``validate_detached``), exactly as a dataset annotation is."""
    if len(items) > MAX_ANNOTATIONS:
        raise Invalid("too_many_annotations", f"at most {MAX_ANNOTATIONS} annotations per label")
    categories = dict(
        Category.objects.filter(
            dataset_id=task.dataset_id, name__in=task.project.categories
        ).values_list("name", "pk")
    )
    violations: list[dict[str, Any]] = []
    detached: list[dict[str, Any]] = []
    cleaned: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        label = {field: item.get(field) for field in LABEL_FIELDS}
        label["caption"] = label["caption"] or ""
        label["is_group"] = bool(label["is_group"])
        label["conf"] = 1.0 if label["conf"] is None else label["conf"]
        name = label["category"]
        if name is not None and name not in categories:
            violations.append(
                {"index": index, "field": "category", "reason": "not a category of this project"}
            )
        geometry = any(label[k] is not None for k in ("bbox", "segmentation", "keypoints"))
        if name is None and not geometry and not label["caption"]:
            violations.append(
                {"index": index, "field": "category", "reason": "a class label needs a category"}
            )
        detached.append(
            {
                "category_id": categories.get(name) if name is not None else None,
                "bbox": label["bbox"],
                "segmentation": label["segmentation"],
                "keypoints": label["keypoints"],
                "caption": label["caption"],
                "is_group": label["is_group"],
                "conf": label["conf"],
            }
        )
        cleaned.append(label)
    try:
        dataset_annotations.validate_detached(task_image.image, detached)
    except Invalid as exc:
        if exc.code != "invalid_annotations":
            raise
        violations.extend(exc.details["errors"])
    if violations:
        violations.sort(key=lambda v: v["index"])
        raise Invalid(
            "invalid_annotations",
            f"{len({v['index'] for v in violations})} of {len(items)} annotations are not valid; "
            "the label was not saved",
            details={"errors": violations},
        )
    return cleaned


def _role(task: LabelTask, user: User, role: str) -> TaskRole:
    found = TaskRole.objects.filter(task=task, user=user, role=role, is_active=True).first()
    if found is None:
        raise NotFound("task_not_found", "no such task")
    return found


def _settle(task: LabelTask, task_image: LabelTaskImage) -> None:
    """The reviewers' and the image's statuses, from the labelers' and the reviews."""
    statuses = list(
        ImageRoleStatus.objects.filter(task_image=task_image, task_role__is_active=True)
        .select_related("task_role")
        .order_by("pk")
    )
    labelers = [s.status for s in statuses if s.task_role.role == Role.LABELER]
    all_labeled = bool(labelers) and all(s in _DONE for s in labelers)
    if labelers and all(s == ImageStatus.ACCEPTED for s in labelers):
        task_image.status = ImageStatus.ACCEPTED
    elif ImageStatus.REJECTED in labelers:
        task_image.status = ImageStatus.REJECTED
    elif all_labeled:
        task_image.status = ImageStatus.REVIEWING
    else:
        task_image.status = ImageStatus.LABELING
    task_image.save(update_fields=["status"])
    labels = set(UserLabelData.objects.filter(task_image=task_image).values_list("pk", flat=True))
    verdicts: dict[int, dict[int, str]] = {}
    for user_id, label_id, action in UserReviewData.objects.filter(
        task_image=task_image
    ).values_list("user_id", "label_id", "action"):
        verdicts.setdefault(user_id, {})[label_id] = action
    changed = []
    for s in statuses:
        if s.task_role.role != Role.REVIEWER:
            continue
        mine = verdicts.get(s.task_role.user_id, {})
        if ReviewAction.REJECT in mine.values():
            status = ImageStatus.REJECTED
        elif all_labeled and labels and all(mine.get(pk) == ReviewAction.ACCEPT for pk in labels):
            status = ImageStatus.ACCEPTED
        elif all_labeled:
            status = ImageStatus.REVIEWING
        else:
            status = ImageStatus.LABELING
        if s.status != status:
            s.status = status
            changed.append(s)
    ImageRoleStatus.objects.bulk_update(changed, ["status"])


def set_label(
    task: LabelTask, task_image: LabelTaskImage, labeler: User, items: Sequence[dict[str, Any]]
) -> UserLabelData:
    """Save ``labeler``'s annotations of the image, replacing their previous label (and the
    reviews of it). 409 ``task_not_working`` unless the task is working; 409
    ``label_accepted`` once every reviewer accepted the label; 422 ``invalid_annotations``."""
    cleaned = check_label(task, task_image, items)
    with transaction.atomic():
        task = locked_task(task)
        require_status("task", task.status, [TaskStatus.WORKING], "label its images")
        role = _role(task, labeler, Role.LABELER)
        status = ImageRoleStatus.objects.get(task_role=role, task_image=task_image)
        if status.status == ImageStatus.ACCEPTED:
            raise Conflict(
                "label_accepted",
                "every reviewer accepted this label; it can no longer change",
                details={"status": status.status},
            )
        UserLabelData.objects.filter(task_image=task_image, user=labeler).delete()
        label = UserLabelData.objects.create(
            task_image=task_image, user=labeler, annotations=cleaned
        )
        status.status = ImageStatus.REVIEWING
        status.save(update_fields=["status"])
        _settle(task, task_image)
        update_progress_for_all_roles(task)
    return label


def set_review(
    task: LabelTask,
    task_image: LabelTaskImage,
    reviewer: User,
    *,
    label_id: int,
    action: str,
    comment: str = "",
) -> UserReviewData:
    """Record ``reviewer``'s verdict on one label of the image. A rejection sends the labeler
    back to labeling; ``review_times`` acceptances accept the label. 409
    ``task_not_working``; 409 ``image_not_reviewing`` before every labeler has labeled (or
    while one must label again); 404 ``label_not_found``; 409 ``already_reviewed`` for a
    second verdict by the same reviewer on the same label."""
    if action not in ReviewAction.values:
        raise Invalid("invalid_action", "a review is accept or reject")
    with transaction.atomic():
        task = locked_task(task)
        require_status("task", task.status, [TaskStatus.WORKING], "review its images")
        _role(task, reviewer, Role.REVIEWER)
        task_image.refresh_from_db(fields=["status"])
        require_status(
            "image",
            task_image.status,
            [ImageStatus.REVIEWING, ImageStatus.ACCEPTED],
            "review its labels",
        )
        label = UserLabelData.objects.filter(task_image=task_image, pk=label_id).first()
        if label is None:
            raise NotFound("label_not_found", "no such label on this image")
        if UserReviewData.objects.filter(label=label, user=reviewer).exists():
            raise Conflict("already_reviewed", "you have reviewed this label already")
        review = UserReviewData.objects.create(
            label=label, task_image=task_image, user=reviewer, action=action, comment=comment
        )
        labeler_status = ImageRoleStatus.objects.get(
            task_image=task_image,
            task_role__user_id=label.user_id,
            task_role__role=Role.LABELER,
            task_role__is_active=True,
        )
        if action == ReviewAction.REJECT:
            labeler_status.status = ImageStatus.REJECTED
        elif labeler_status.status != ImageStatus.REJECTED and UserReviewData.objects.filter(
            label=label, action=ReviewAction.ACCEPT
        ).count() >= (task.project.review_times or 0):
            labeler_status.status = ImageStatus.ACCEPTED
        labeler_status.save(update_fields=["status"])
        _settle(task, task_image)
        update_progress_for_all_roles(task)
    return review

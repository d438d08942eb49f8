"""Read-side queries of labeling: progress, task images as each role sees them, agreement.

Each page is a fixed number of queries whatever its length (prefetches, no per-row lookups).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, Prefetch, QuerySet, Sum

from visionhub.core.errors import Invalid
from visionhub.core.pagination import PageResult, paginate
from visionhub.labeling import agreement
from visionhub.labeling.access import LabelView
from visionhub.labeling.models import (
    ImageRoleStatus,
    ImageStatus,
    LabelProject,
    LabelTask,
    LabelTaskImage,
    ProjectRole,
    Role,
    TaskRole,
    UserLabelData,
    UserReviewData,
)


def projects_with_details(projects: QuerySet[LabelProject]) -> QuerySet[LabelProject]:
    """``projects`` with what ``ProjectOut`` shows prefetched (three queries a page)."""
    managers = ProjectRole.objects.filter(role=Role.MANAGER).select_related("user")
    return projects.select_related("owner").prefetch_related(
        "datasets", Prefetch("roles", queryset=managers, to_attr="manager_roles")
    )


def progress(project: LabelProject) -> dict[str, Any]:
    """The project's counters, its images per overall status, and every person's progress
    summed over the tasks they hold each role in."""
    images = dict(
        LabelTaskImage.objects.filter(task__project=project)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    people = (
        TaskRole.objects.filter(project=project, is_active=True)
        .order_by()
        .values("user__username", "role")
        .annotate(
            tasks=Count("id"),
            lw=Sum("label_num_waiting"),
            rw=Sum("review_num_waiting"),
            rr=Sum("review_num_rejected"),
            ra=Sum("review_num_accepted"),
        )
        .order_by("user__username", "role")
    )
    return {
        "status": project.status,
        "progress": project.progress,
        "task_num_total": project.task_num_total,
        "task_num_waiting": project.task_num_waiting,
        "task_num_working": project.task_num_working,
        "task_num_reviewing": project.task_num_reviewing,
        "task_num_rejected": project.task_num_rejected,
        "task_num_accepted": project.task_num_accepted,
        "num_images": sum(images.values()),
        "images": {s: images.get(s, 0) for s in ImageStatus.values},
        "people": [
            {
                "username": p["user__username"],
                "role": p["role"],
                "tasks": p["tasks"],
                "label_num_waiting": p["lw"],
                "review_num_waiting": p["rw"],
                "review_num_rejected": p["rr"],
                "review_num_accepted": p["ra"],
            }
            for p in people
        ],
    }


def leaders_of(task: LabelTask) -> dict[str, str]:
    return dict(
        TaskRole.objects.filter(
            task=task, is_active=True, role__in=[Role.LABEL_LEADER, Role.REVIEW_LEADER]
        ).values_list("role", "user__username")
    )


def task_roles(task: LabelTask, view: LabelView) -> QuerySet[TaskRole]:
    roles = TaskRole.objects.filter(task=task).select_related("user").order_by("pk")
    return roles if view.all_statuses else roles.filter(user_id=view.user_id, is_active=True)


def task_images(
    task: LabelTask,
    view: LabelView,
    *,
    status: str | None,
    username: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[PageResult[LabelTaskImage], list[dict[str, Any]]]:
    """A page of the task's images, filtered by ``status``: the status of ``username``'s
    role on them (a labeler or reviewer of the task; only leaders may name another user),
    else the caller's own as a worker, else the images' overall status."""
    if status is not None and status not in ImageStatus.values:
        raise Invalid("invalid_status", f"status is one of {', '.join(ImageStatus.values)}")
    images = LabelTaskImage.objects.filter(task=task).select_related("image")
    worker = None
    if username is not None:
        if not view.all_statuses and username != _username(view.user_id):
            raise Invalid("invalid_user", "you may filter by your own status only")
        worker = TaskRole.objects.filter(
            task=task,
            user__username=username,
            role__in=[Role.LABELER, Role.REVIEWER],
            is_active=True,
        ).first()
        if worker is None:
            raise Invalid("invalid_user", f"{username} is not a labeler or reviewer of this task")
    elif not view.all_statuses:
        worker = TaskRole.objects.filter(
            task=task, user_id=view.user_id, role__in=[Role.LABELER, Role.REVIEWER], is_active=True
        ).first()
    if status is not None:
        if worker is not None:
            images = images.filter(
                pk__in=ImageRoleStatus.objects.filter(task_role=worker, status=status).values(
                    "task_image_id"
                )
            )
        else:
            images = images.filter(status=status)
    page = paginate(images, order_by=("idx",), cursor=cursor, limit=limit)
    return page, present(page.items, view)


def _username(user_id: int) -> str:
    from visionhub.accounts.models import User

    return User.objects.filter(pk=user_id).values_list("username", flat=True).first() or ""


def present(items: list[LabelTaskImage], view: LabelView) -> list[dict[str, Any]]:
    """``TaskImageOut`` dicts of ``items`` as ``view`` may see them (four queries)."""
    ids = [i.pk for i in items]
    statuses: dict[int, dict[str, str]] = defaultdict(dict)
    mine: dict[int, str] = {}
    for s in ImageRoleStatus.objects.filter(
        task_image__in=ids, task_role__is_active=True
    ).select_related("task_role__user"):
        role = s.task_role
        if role.user_id == view.user_id:
            mine[s.task_image_id] = s.status
        if view.all_statuses or role.user_id == view.user_id:
            statuses[s.task_image_id][f"{role.role}_{role.user.username}"] = s.status
    labels = (
        UserLabelData.objects.filter(task_image__in=ids)
        .select_related("user")
        .order_by("user__username")
    )
    if not view.all_labels:
        labels = labels.filter(user_id=view.user_id)
    reviews = (
        UserReviewData.objects.filter(task_image__in=ids).select_related("user").order_by("pk")
    )
    if not view.all_reviews:
        reviews = reviews.filter(label__user_id=view.user_id) | reviews.filter(user_id=view.user_id)
    by_label: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in reviews:
        by_label[r.label_id].append(
            {
                "id": r.pk,
                "label_id": r.label_id,
                "username": r.user.username,
                "action": r.action,
                "comment": r.comment,
                "created_ts": r.created_ts,
            }
        )
    by_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for label in labels:
        by_image[label.task_image_id].append(
            {
                "id": label.pk,
                "username": label.user.username,
                "annotations": label.annotations,
                "created_ts": label.created_ts,
                "reviews": by_label.get(label.pk, []),
            }
        )
    out = []
    for item in items:
        role_status = dict(statuses.get(item.pk, {}))
        if view.all_statuses:
            role_status["label_leader"] = role_status["review_leader"] = item.status
        out.append(
            {
                "id": item.pk,
                "task_id": item.task_id,
                "idx": item.idx,
                "image_id": item.image_id,
                "width": item.image.width,
                "height": item.image.height,
                "status": item.status,
                "my_status": mine.get(item.pk),
                "role_status": role_status,
                "default_labels": item.default_labels,
                "labels": by_image.get(item.pk, []),
                "agreement": item.agreement if view.all_statuses else None,
            }
        )
    return out


def task_agreement(task: LabelTask, *, cursor: str | None, limit: int) -> dict[str, Any]:
    """Agreement of the labelers on a page of the task's images that every labeler has
    labeled (overall status past labeling), and per labeler over that page."""
    done = LabelTaskImage.objects.filter(task=task).exclude(status=ImageStatus.LABELING)
    page = paginate(done, order_by=("idx",), cursor=cursor, limit=limit)
    labels: dict[int, list[UserLabelData]] = defaultdict(list)
    for label in (
        UserLabelData.objects.filter(task_image__in=page.items)
        .select_related("user")
        .order_by("user_id")
    ):
        labels[label.task_image_id].append(label)
    scores: dict[str, agreement.LabelerScore] = {}
    items = []
    for task_image in page.items:
        found = labels.get(task_image.pk, [])
        merged = agreement.merge_image([(lb.user_id, lb.annotations) for lb in found])
        names = {lb.user_id: lb.user.username for lb in found}
        for user_id, score in merged.labelers.items():
            scores.setdefault(names[user_id], agreement.LabelerScore()).add(score)
        items.append(
            {
                "task_image_id": task_image.pk,
                "image_id": task_image.image_id,
                "agreement": merged.agreement,
            }
        )
    return {
        "items": items,
        "labelers": {name: s.summary() for name, s in sorted(scores.items())},
        "next_cursor": page.next_cursor,
    }

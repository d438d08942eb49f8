"""Every labeling object a client names is fetched here, checked against the caller.

Someone who cannot see a project (``permissions.can_view_project``) gets 404
``project_not_found`` for it and for everything in it, exactly as if it did not exist; the same
for a task they cannot see (``can_view_task``: a member of another task gets 404). A member
who may see an object but not do what they ask gets 403 ``forbidden``, naming the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from visionhub.accounts.models import User
from visionhub.core.errors import Forbidden, NotFound
from visionhub.labeling import permissions
from visionhub.labeling.models import (
    LabelProject,
    LabelTask,
    LabelTaskImage,
    ProjectRole,
    TaskRole,
    TaskStatus,
)


def _valid_id(pk: int) -> bool:
    return 0 < pk < 2**63


def require(allowed: bool, rule: str) -> None:
    """403 ``forbidden`` unless ``allowed``; ``rule`` names the predicate that said no."""
    if not allowed:
        raise Forbidden("forbidden", f"you may not do this ({rule})", details={"rule": rule})


def get_project_for(user: User, project_id: int) -> LabelProject:
    project = (
        LabelProject.objects.select_related("owner").filter(pk=project_id).first()
        if _valid_id(project_id)
        else None
    )
    if project is None or not permissions.can_view_project(user, project):
        raise NotFound("project_not_found", "no such label project")
    return project


def visible_projects(user: User) -> QuerySet[LabelProject]:
    """The projects ``user`` is a member of (staff: every project)."""
    if user.is_staff:
        return LabelProject.objects.all()
    return LabelProject.objects.filter(
        pk__in=ProjectRole.objects.filter(user=user).values("project_id")
    )


def get_task_for(user: User, task_id: int) -> LabelTask:
    task = (
        LabelTask.objects.select_related("project", "dataset").filter(pk=task_id).first()
        if _valid_id(task_id)
        else None
    )
    if task is None or not permissions.can_view_task(user, task):
        raise NotFound("task_not_found", "no such label task")
    return task


def visible_tasks(user: User, project: LabelProject) -> QuerySet[LabelTask]:
    """The project's tasks ``user`` may see: all of them for its owner, managers and staff,
    else those they hold an active role in."""
    tasks = LabelTask.objects.filter(project=project)
    if permissions.can_view_all_tasks(user, project):
        return tasks
    mine = TaskRole.objects.filter(project=project, user=user, is_active=True)
    return tasks.filter(Q(pk__in=mine.values("task_id")))


def get_task_image_in(task: LabelTask, task_image_id: int) -> LabelTaskImage:
    """An image of ``task`` (whose access the caller has passed)."""
    found = (
        LabelTaskImage.objects.select_related("image").filter(task=task, pk=task_image_id).first()
        if _valid_id(task_image_id)
        else None
    )
    if found is None:
        raise NotFound("task_image_not_found", "no such image in this task")
    return found


@dataclass(frozen=True)
class LabelView:
    """Whose labels and reviews a caller sees on a task's images.

    Leaders, managers, the owner and staff see everything. A reviewer sees every label of
    their task and their own reviews. A labeler sees their own label and its reviews, and the
    others' labels once the task is past working (reviewing or accepted).
    """

    user_id: int
    all_labels: bool
    all_reviews: bool
    all_statuses: bool


def label_view(user: User, task: LabelTask) -> LabelView:
    everything = permissions.can_view_all_roles(user, task.project) and (
        permissions.can_view_all_tasks(user, task.project)
        or bool(permissions.task_roles(user, task) & {"label_leader", "review_leader"})
    )
    if everything:
        return LabelView(user.pk, True, True, True)
    reviewer = permissions.is_task_reviewer(user, task)
    past_work = task.status in (TaskStatus.REVIEWING, TaskStatus.ACCEPTED)
    return LabelView(user.pk, reviewer or past_work, False, False)

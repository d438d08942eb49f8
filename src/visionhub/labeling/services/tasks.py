"""One task's team and life (seed ``LabelTask`` and ``TaskRole``).

waiting → working (its leaders are set) → reviewing (every role completed) → accepted |
rejected by a manager's QA; a rejected task is restarted by its label leader (back to
``working``, every image back to ``rejected``) or accepted anyway by a manager.

Every function here runs in one transaction that first locks the task row, then (when the
task's status changes) the project row: the order every labeling service keeps, so that two
writers never deadlock and each recount sees the other's committed rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Count

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid
from visionhub.labeling import permissions
from visionhub.labeling.models import (
    LEADERS,
    WORKERS,
    ImageRoleStatus,
    ImageStatus,
    LabelProject,
    LabelTask,
    LabelTaskImage,
    ProjectRole,
    ProjectStatus,
    Role,
    TaskRole,
    TaskStatus,
    UserLabelData,
    UserReviewData,
)
from visionhub.labeling.services import projects
from visionhub.labeling.services.common import require_status


def locked_task(task: LabelTask) -> LabelTask:
    """``task`` read again under a row lock, with its project (not locked)."""
    return (
        LabelTask.objects.select_for_update(of=("self",)).select_related("project").get(pk=task.pk)
    )


def _require_working_project(project: LabelProject) -> None:
    require_status(
        "project",
        project.status,
        [ProjectStatus.WORKING, ProjectStatus.REVIEWING, ProjectStatus.REJECTED],
        "change its tasks",
    )


def _add_project_roles(project: LabelProject, users: Sequence[User], role: str) -> None:
    ProjectRole.objects.bulk_create(
        [ProjectRole(project=project, user=u, role=role) for u in users], ignore_conflicts=True
    )
    permissions.forget(project)


def _drop_project_role_if_unused(project: LabelProject, user_id: int, role: str) -> None:
    """The seed's ``_transfer_roles``: a user who no longer holds ``role`` in any task of the
    project loses it in the project."""
    if not TaskRole.objects.filter(
        project=project, user_id=user_id, role=role, is_active=True
    ).exists():
        ProjectRole.objects.filter(project=project, user_id=user_id, role=role).delete()


def _set_status(task: LabelTask, status: str) -> None:
    """Change the task's status and recount the project's tasks (project row locked)."""
    task.status = status
    task.save(update_fields=["status"])
    project = projects.locked_project(task.project_id)
    projects.update_subtask_counter(project)
    task.project = project


def set_leader(task: LabelTask, leader: User, role: str) -> TaskRole:
    """Make ``leader`` the task's label or review leader (422 ``not_a_leader_role``),
    replacing the current one if any (who keeps the history, inactive, and hands over the
    progress). Setting the leader who starts the work (the review leader, or the label leader
    when nothing is reviewed) takes a waiting task to ``working``. 422
    ``reviews_not_required`` for a review leader when ``review_times`` is 0."""
    if role not in LEADERS:
        raise Invalid("not_a_leader_role", "a leader is a label_leader or a review_leader")
    with transaction.atomic():
        task = locked_task(task)
        project = task.project
        _require_working_project(project)
        if role == Role.REVIEW_LEADER and not project.review_times:
            raise Invalid("reviews_not_required", "this project has no reviews (review_times 0)")
        current = TaskRole.objects.filter(task=task, role=role, is_active=True).first()
        if current is not None:
            new_role = _replace(task, current, leader)
        else:
            new_role = TaskRole.objects.create(project=project, task=task, user=leader, role=role)
            _add_project_roles(project, [leader], role)
            starts = role == Role.REVIEW_LEADER or not project.review_times
            if task.status == TaskStatus.WAITING and starts:
                _set_status(task, TaskStatus.WORKING)
        update_progress_for_all_roles(task)
    permissions.forget(task)
    return new_role


def init_workers(task: LabelTask, workers: Sequence[User], role: str) -> list[TaskRole]:
    """Set all the labelers (exactly ``label_times``) or all the reviewers (exactly
    ``review_times``) of the task at once, each with a status on every image (the seed's
    ``init_roles``). 422 ``not_a_worker_role``, ``worker_count_mismatch``,
    ``reviews_not_required``, ``reviewer_is_labeler`` (nobody reviews their own labels);
    409 ``workers_already_set`` once set (replace them one by one instead)."""
    if role not in WORKERS:
        raise Invalid("not_a_worker_role", "a worker is a labeler or a reviewer")
    with transaction.atomic():
        task = locked_task(task)
        project = task.project
        _require_working_project(project)
        require_status(
            "task", task.status, [TaskStatus.WORKING, TaskStatus.WAITING], "set its workers"
        )
        wanted = project.label_times if role == Role.LABELER else project.review_times
        if role == Role.REVIEWER and not wanted:
            raise Invalid("reviews_not_required", "this project has no reviews (review_times 0)")
        if len(workers) != wanted:
            raise Invalid(
                "worker_count_mismatch",
                f"this project needs exactly {wanted} {role}s per task",
                details={"expected": wanted, "got": len(workers)},
            )
        if TaskRole.objects.filter(task=task, role=role, is_active=True).exists():
            raise Conflict(
                "workers_already_set", f"the task's {role}s are set; replace one instead"
            )
        other = Role.REVIEWER if role == Role.LABELER else Role.LABELER
        clash = TaskRole.objects.filter(
            task=task, role=other, is_active=True, user__in=workers
        ).exists()
        if clash:
            raise Invalid("reviewer_is_labeler", "nobody may review their own labels")
        roles = TaskRole.objects.bulk_create(
            [TaskRole(project=project, task=task, user=u, role=role) for u in workers]
        )
        _add_project_roles(project, workers, role)
        image_ids = list(LabelTaskImage.objects.filter(task=task).values_list("pk", flat=True))
        ImageRoleStatus.objects.bulk_create(
            [ImageRoleStatus(task_image_id=i, task_role=r) for r in roles for i in image_ids],
            batch_size=5000,
        )
        if role == Role.REVIEWER:
            # Images every labeler has labeled already wait for the new reviewers.
            ready = LabelTaskImage.objects.filter(task=task).exclude(status=ImageStatus.LABELING)
            ImageRoleStatus.objects.filter(task_role__in=roles, task_image__in=ready).update(
                status=ImageStatus.REVIEWING
            )
        update_progress_for_all_roles(task)
    permissions.forget(task)
    return roles


def _replace(task: LabelTask, old: TaskRole, new_user: User) -> TaskRole:
    """Hand ``old``'s role over to ``new_user``: counters, image statuses, labels and reviews
    (the seed's ``replace_role``)."""
    if old.user_id == new_user.pk:
        raise Invalid("same_user", "the new user already holds this role")
    if TaskRole.objects.filter(task=task, user=new_user, is_active=True).exists():
        raise Conflict("user_in_task", f"{new_user.username} already has a role in this task")
    old.is_active = False
    old.save(update_fields=["is_active"])
    new = TaskRole.objects.create(
        project_id=task.project_id,
        task=task,
        user=new_user,
        role=old.role,
        label_num_waiting=old.label_num_waiting,
        review_num_waiting=old.review_num_waiting,
        review_num_rejected=old.review_num_rejected,
        review_num_accepted=old.review_num_accepted,
        label_completed=old.label_completed,
        review_completed=old.review_completed,
    )
    ImageRoleStatus.objects.filter(task_role=old).update(task_role=new)
    if old.role == Role.LABELER:
        UserLabelData.objects.filter(task_image__task=task, user_id=old.user_id).update(
            user=new_user
        )
    elif old.role == Role.REVIEWER:
        UserReviewData.objects.filter(label__task_image__task=task, user_id=old.user_id).update(
            user=new_user
        )
    _add_project_roles(task.project, [new_user], old.role)
    _drop_project_role_if_unused(task.project, old.user_id, old.role)
    return new


def replace_worker(task: LabelTask, old_user: User, new_user: User, role: str) -> TaskRole:
    """Give ``old_user``'s labeler or reviewer role in the task to ``new_user``, with the
    progress, statuses and labels (or reviews) it carries. 404 ``role_not_found`` if
    ``old_user`` does not hold it; 409 ``user_in_task`` if ``new_user`` has a role here."""
    if role not in WORKERS:
        raise Invalid("not_a_worker_role", "a worker is a labeler or a reviewer")
    with transaction.atomic():
        task = locked_task(task)
        _require_working_project(task.project)
        old = TaskRole.objects.filter(task=task, user=old_user, role=role, is_active=True).first()
        if old is None:
            raise Invalid("role_not_found", f"{old_user.username} is not a {role} of this task")
        new = _replace(task, old, new_user)
    permissions.forget(task)
    return new


def restart_task(task: LabelTask) -> LabelTask:
    """A rejected task back to ``working``: every status of every role on every image is
    ``rejected``, so each labeler labels again (409 ``task_not_rejected``)."""
    with transaction.atomic():
        task = locked_task(task)
        require_status("task", task.status, [TaskStatus.REJECTED], "restart the task")
        LabelTaskImage.objects.filter(task=task).update(status=ImageStatus.REJECTED)
        ImageRoleStatus.objects.filter(task_role__task=task, task_role__is_active=True).update(
            status=ImageStatus.REJECTED
        )
        _set_status(task, TaskStatus.WORKING)
        update_progress_for_all_roles(task)
    return task


def reject_task(task: LabelTask) -> LabelTask:
    """A manager's QA: reviewing → rejected (409 ``task_not_reviewing``). While the owner
    has rejected the project, an accepted task may be rejected too."""
    with transaction.atomic():
        task = locked_task(task)
        allowed = [TaskStatus.REVIEWING]
        if task.project.status == ProjectStatus.REJECTED:
            allowed.append(TaskStatus.ACCEPTED)
        require_status("task", task.status, allowed, "reject the task")
        _set_status(task, TaskStatus.REJECTED)
    return task


def accept_task(task: LabelTask) -> LabelTask:
    """A manager's QA: reviewing → accepted (409 ``task_not_reviewing``)."""
    with transaction.atomic():
        task = locked_task(task)
        require_status("task", task.status, [TaskStatus.REVIEWING], "accept the task")
        _set_status(task, TaskStatus.ACCEPTED)
    return task


def accept_rejected_task(task: LabelTask) -> LabelTask:
    """A manager accepts a rejected task as it is (409 ``task_not_rejected``)."""
    with transaction.atomic():
        task = locked_task(task)
        require_status("task", task.status, [TaskStatus.REJECTED], "force-accept the task")
        _set_status(task, TaskStatus.ACCEPTED)
    return task


def qa_task(task: LabelTask, action: str) -> LabelTask:
    """``accept``, ``reject`` or ``force_accept`` (422 ``invalid_action`` otherwise)."""
    actions = {"accept": accept_task, "reject": reject_task, "force_accept": accept_rejected_task}
    if action not in actions:
        raise Invalid("invalid_action", "a task's QA action is accept, reject or force_accept")
    return actions[action](task)


def update_progress_for_all_roles(task: LabelTask) -> list[TaskRole]:
    """The seed's six rules, on the task's active roles (call with the task row locked):

    1. count every role's image statuses into its counters (leaders count the images'
       overall status, workers their own);
    2-3. ``label_completed``: nothing waits for labeling and nothing is rejected;
    4. ``review_completed``: the project has no reviews, or every image is accepted;
    5. all roles completed: a working task goes to ``reviewing``;
    6. and the project's task counters are recounted.
    """
    roles = list(TaskRole.objects.filter(task=task, is_active=True))
    worker_counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        ImageRoleStatus.objects.filter(task_role__in=[r.pk for r in roles])
        .order_by()
        .values_list("task_role_id", "status")
        .annotate(n=Count("id"))
    )
    for role_id, status, n in rows:
        worker_counts[role_id][status] = n
    image_counts = dict(
        LabelTaskImage.objects.filter(task=task)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    no_reviews = not task.project.review_times
    for role in roles:
        counts = image_counts if role.role in LEADERS else worker_counts[role.pk]
        role.label_num_waiting = counts.get(ImageStatus.LABELING, 0)
        role.review_num_waiting = counts.get(ImageStatus.REVIEWING, 0)
        role.review_num_rejected = counts.get(ImageStatus.REJECTED, 0)
        role.review_num_accepted = counts.get(ImageStatus.ACCEPTED, 0)
        role.label_completed = role.label_num_waiting == 0 and role.review_num_rejected == 0
        role.review_completed = no_reviews or role.review_num_accepted == task.num_total
    TaskRole.objects.bulk_update(
        roles,
        ["label_num_waiting", "review_num_waiting", "review_num_rejected",
         "review_num_accepted", "label_completed", "review_completed"],
    )  # fmt: skip
    done = all(r.label_completed and r.review_completed for r in roles)
    has_labelers = any(r.role == Role.LABELER for r in roles)
    if done and has_labelers and task.status == TaskStatus.WORKING:
        _set_status(task, TaskStatus.REVIEWING)
    return roles

"""Who may do what in a labeling project: every predicate of seed 004, in one module.

Project-level predicates read the caller's ``ProjectRole`` rows, task-level ones their active
``TaskRole`` rows in that task; each set is fetched once per object and cached on it, so a
handler that asks several questions costs one query per object. ``tests/labeling/
test_permission_matrix.py`` holds every role against every endpoint.

Where VisionHub departs from the seed, and why:

- ``can_create_project``: the seed allows staff only. Here any active user may, because the
  service also requires write access to every dataset of the project (its export writes a
  label set into them), which is the rule that matters.
- Staff may do whatever an owner or a manager may (as with datasets), but never label or
  review in someone else's name: the worker predicates hold for a task's own workers only.
- ``can_view_task`` (not in the seed): the owner, managers and staff see every task; anyone
  else sees the tasks they hold an active role in, and gets 404 for the others.
"""

from __future__ import annotations

from visionhub.accounts.models import User
from visionhub.labeling.models import (
    GT_LEADERS,
    GTE_LEADERS,
    LEADERS,
    LEVELS,
    LabelProject,
    LabelTask,
    ProjectRole,
    Role,
    TaskRole,
)

_PROJECT_CACHE = "_visionhub_roles_of"
_TASK_CACHE = "_visionhub_task_roles_of"


def project_roles(user: User, project: LabelProject) -> frozenset[str]:
    """The roles ``user`` holds in ``project`` (one query, then cached on the project)."""
    cache: dict[int, frozenset[str]] = project.__dict__.setdefault(_PROJECT_CACHE, {})
    if user.pk not in cache:
        cache[user.pk] = frozenset(
            ProjectRole.objects.filter(project=project, user=user).values_list("role", flat=True)
        )
    return cache[user.pk]


def task_roles(user: User, task: LabelTask) -> frozenset[str]:
    """The roles ``user`` actively holds in ``task`` (one query, then cached on the task)."""
    cache: dict[int, frozenset[str]] = task.__dict__.setdefault(_TASK_CACHE, {})
    if user.pk not in cache:
        cache[user.pk] = frozenset(
            TaskRole.objects.filter(task=task, user=user, is_active=True).values_list(
                "role", flat=True
            )
        )
    return cache[user.pk]


def forget(obj: LabelProject | LabelTask) -> None:
    """Drop the cached roles of ``obj`` (after a service changed them)."""
    obj.__dict__.pop(_PROJECT_CACHE, None)
    obj.__dict__.pop(_TASK_CACHE, None)


# --- project roles (seed ``ProjectRole``) -----------------------------------------------------


def is_member(user: User, project: LabelProject) -> bool:
    return bool(project_roles(user, project))


def is_owner(user: User, project: LabelProject) -> bool:
    return Role.OWNER in project_roles(user, project)


def is_manager(user: User, project: LabelProject) -> bool:
    return Role.MANAGER in project_roles(user, project)


def is_leader(user: User, project: LabelProject) -> bool:
    return bool(project_roles(user, project) & LEADERS)


def is_gte_leader(user: User, project: LabelProject) -> bool:
    """A role at or above leader: owner, manager, label leader or review leader."""
    return bool(project_roles(user, project) & GTE_LEADERS)


def is_gt_leader(user: User, project: LabelProject) -> bool:
    """A role above leader: owner or manager."""
    return bool(project_roles(user, project) & GT_LEADERS)


def is_label_leader(user: User, project: LabelProject) -> bool:
    return Role.LABEL_LEADER in project_roles(user, project)


def is_review_leader(user: User, project: LabelProject) -> bool:
    return Role.REVIEW_LEADER in project_roles(user, project)


def is_worker(user: User, project: LabelProject) -> bool:
    return bool(project_roles(user, project) & {Role.LABELER, Role.REVIEWER})


def is_label_worker(user: User, project: LabelProject) -> bool:
    return Role.LABELER in project_roles(user, project)


def is_review_worker(user: User, project: LabelProject) -> bool:
    return Role.REVIEWER in project_roles(user, project)


def can_create_project(user: User) -> bool:
    return user.is_active


def can_edit_project(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_owner(user, project)


def can_init_project(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_manager(user, project)


def can_view_project(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_member(user, project)


def can_view_project_progress(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_gte_leader(user, project)


def can_assign_leader(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_manager(user, project)


def can_view_all_tasks(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_gt_leader(user, project)


def can_qa_project(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_owner(user, project)


def can_export_project(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_owner(user, project)


# --- task roles (seed ``TaskRole``) ----------------------------------------------------------


def is_task_label_leader(user: User, task: LabelTask) -> bool:
    return Role.LABEL_LEADER in task_roles(user, task)


def is_task_review_leader(user: User, task: LabelTask) -> bool:
    return Role.REVIEW_LEADER in task_roles(user, task)


def is_task_labeler(user: User, task: LabelTask) -> bool:
    return Role.LABELER in task_roles(user, task)


def is_task_reviewer(user: User, task: LabelTask) -> bool:
    return Role.REVIEWER in task_roles(user, task)


def _has_active(task: LabelTask, role: Role) -> bool:
    return TaskRole.objects.filter(task=task, role=role, is_active=True).exists()


def can_init_label_worker(user: User, task: LabelTask) -> bool:
    """The task's label leader, while the task has no labelers yet."""
    return is_task_label_leader(user, task) and not _has_active(task, Role.LABELER)


def can_init_review_worker(user: User, task: LabelTask) -> bool:
    """The task's review leader, while the task has no reviewers yet."""
    return is_task_review_leader(user, task) and not _has_active(task, Role.REVIEWER)


def can_replace_label_worker(user: User, task: LabelTask) -> bool:
    return is_task_label_leader(user, task)


def can_replace_review_worker(user: User, task: LabelTask) -> bool:
    return is_task_review_leader(user, task)


def can_commit_review(user: User, task: LabelTask) -> bool:
    return is_task_reviewer(user, task)


def can_restart_task(user: User, task: LabelTask) -> bool:
    return is_task_label_leader(user, task)


def can_qa_task(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_manager(user, project)


def can_view_all_roles(user: User, project: LabelProject) -> bool:
    return user.is_staff or is_gte_leader(user, project)


def can_label_image(user: User, task: LabelTask) -> bool:
    return is_task_labeler(user, task)


def can_review_image(user: User, task: LabelTask) -> bool:
    return is_task_reviewer(user, task)


def can_view_task(user: User, task: LabelTask) -> bool:
    return can_view_all_tasks(user, task.project) or bool(task_roles(user, task))


def get_max_role(user: User, task: LabelTask) -> str | None:
    """The highest role ``user`` has over ``task``: owner or manager of its project, else their
    highest active role in the task; None when they have none."""
    held = (project_roles(user, task.project) & GT_LEADERS) | task_roles(user, task)
    if not held:
        return None
    return min(held, key=lambda role: LEVELS[Role(role)])

"""``/api/v1/label-projects`` and ``/api/v1/label-tasks``.

Each handler: parse → ``access`` (404 for what the caller cannot see) → the permission the
seed names (403 otherwise) → one service call → output schema.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from visionhub.accounts.auth import current_user
from visionhub.accounts.models import User
from visionhub.core.errors import Invalid
from visionhub.core.pagination import Page, PageResult, paginate
from visionhub.datasets import access as dataset_access
from visionhub.datasets.models import Dataset
from visionhub.evaluation import access as evaluation_access
from visionhub.labeling import access, permissions, queries
from visionhub.labeling.access import require
from visionhub.labeling.models import LabelProject, LabelTask, ProjectRole, Role
from visionhub.labeling.schemas import (
    AgreementOut,
    ExportIn,
    InitIn,
    LabelIn,
    LabelOut,
    LeaderIn,
    ProgressOut,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    ProjectQaIn,
    ProjectRoleOut,
    ReplaceIn,
    ReviewIn,
    ReviewOut,
    TaskDetailOut,
    TaskImageOut,
    TaskOut,
    TaskQaIn,
    TaskRoleOut,
    WorkersIn,
)
from visionhub.labeling.services import labels, projects, tasks
from visionhub.labeling.services.common import users_named

router = Router(tags=["labeling"])

PageDict = dict[str, Any]


def _project_out(project: LabelProject) -> LabelProject:
    return queries.projects_with_details(LabelProject.objects.filter(pk=project.pk)).get()


# --- projects -------------------------------------------------------------------------------


@router.post("/label-projects", response={201: ProjectOut})
def create_project(request: HttpRequest, body: ProjectIn) -> Status[Any]:
    """A project over datasets the caller may change, with its managers and categories; with
    ``images``, over those images of the datasets only; with ``from_evaluation``, over the
    images an evaluation found wrong (its dataset joins the project, its predictions are the
    pre-labels unless ``pre_label`` names others)."""
    user = current_user(request)
    require(permissions.can_create_project(user), "can_create_project")
    datasets = [dataset_access.get_dataset_for(user, pk, write=True) for pk in body.datasets]
    images, pre_label = body.images, body.pre_label
    if body.from_evaluation is not None:
        images, pre_label = _from_evaluation(user, body, datasets)
    project = projects.create_project(
        user,
        name=body.name,
        datasets=datasets,
        managers=users_named(body.managers, field="managers"),
        categories=body.categories,
        description=body.description,
        pre_label=pre_label,
        images=images,
    )
    return Status(201, _project_out(project))


def _from_evaluation(user: User, body: ProjectIn, datasets: list[Dataset]) -> tuple[list[int], str]:
    """The images (and the pre-label set) of a project made from an evaluation; its dataset
    is added to ``datasets``."""
    assert body.from_evaluation is not None
    if body.images is not None:
        raise Invalid("images_and_evaluation", "name images or an evaluation, not both")
    chosen = body.from_evaluation
    evaluation = evaluation_access.get_evaluation_for(user, chosen.evaluation, write=True)
    images = projects.images_from_evaluation(
        evaluation, precision=chosen.precision, errors=chosen.errors
    )
    if not images:
        raise Invalid("no_images", "the evaluation found no such image at that precision")
    if evaluation.dataset_id not in {d.pk for d in datasets}:
        datasets.append(evaluation.dataset)
    return images, body.pre_label or evaluation.pred.name


@router.get("/label-projects", response=Page[ProjectOut])
def list_projects(
    request: HttpRequest, status: str | None = None, limit: int = 100, cursor: str | None = None
) -> PageResult[LabelProject]:
    """The projects the caller is a member of (staff: all)."""
    found = access.visible_projects(current_user(request))
    if status is not None:
        found = found.filter(status=status)
    return paginate(
        queries.projects_with_details(found), order_by=("-id",), cursor=cursor, limit=limit
    )


@router.get("/label-projects/{project_id}", response=ProjectOut)
def get_project(request: HttpRequest, project_id: int) -> Any:
    return _project_out(access.get_project_for(current_user(request), project_id))


@router.patch("/label-projects/{project_id}", response=ProjectOut)
def edit_project(request: HttpRequest, project_id: int, body: ProjectPatch) -> Any:
    user = current_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_edit_project(user, project), "can_edit_project")
    managers = None if body.managers is None else users_named(body.managers, field="managers")
    projects.edit_project(project, name=body.name, description=body.description, managers=managers)
    return _project_out(project)


@router.post("/label-projects/{project_id}/init", response={202: ProjectOut})
def init_project(request: HttpRequest, project_id: int, body: InitIn) -> Status[Any]:
    """Fix batch size, label and review times; the split into tasks runs in the background."""
    user = current_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_init_project(user, project), "can_init_project")
    project = projects.init_project(project, **body.model_dump())
    return Status(202, _project_out(project))


@router.get("/label-projects/{project_id}/progress", response=ProgressOut)
def project_progress(request: HttpRequest, project_id: int) -> Any:
    user = current_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_view_project_progress(user, project), "can_view_project_progress")
    return queries.progress(project)


@router.get("/label-projects/{project_id}/roles", response=list[ProjectRoleOut])
def project_roles(request: HttpRequest, project_id: int) -> Any:
    user = current_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_view_all_roles(user, project), "can_view_all_roles")
    roles = ProjectRole.objects.filter(project=project).select_related("user")
    return [
        {"username": r.user.username, "role": r.role}
        for r in roles.order_by("user__username", "role")
    ]


@router.get("/label-projects/{project_id}/tasks", response=Page[TaskOut])
def list_tasks(
    request: HttpRequest,
    project_id: int,
    status: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[LabelTask]:
    """Every task for the owner, managers and staff; the caller's own for everyone else."""
    user = current_user(request)
    found = access.visible_tasks(user, access.get_project_for(user, project_id))
    if status is not None:
        found = found.filter(status=status)
    return paginate(found, order_by=("idx",), cursor=cursor, limit=limit)


@router.post("/label-projects/{project_id}/qa", response=ProjectOut)
def qa_project(request: HttpRequest, project_id: int, body: ProjectQaIn) -> Any:
    user = current_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_qa_project(user, project), "can_qa_project")
    return _project_out(projects.qa_project(project, body.action))


@router.post("/label-projects/{project_id}/export", response={202: ProjectOut})
def export_project(request: HttpRequest, project_id: int, body: ExportIn) -> Status[Any]:
    """Write the accepted labels back to each dataset as a new label set, in the background."""
    user = current_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_export_project(user, project), "can_export_project")
    project = projects.export_project(project, label_set=body.label_set, mode=body.mode)
    return Status(202, _project_out(project))


# --- tasks ----------------------------------------------------------------------------------


@router.get("/label-tasks/{task_id}", response=TaskDetailOut)
def get_task(request: HttpRequest, task_id: int) -> Any:
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    leaders = queries.leaders_of(task)
    return {
        **TaskOut.from_orm(task).model_dump(),
        "my_role": permissions.get_max_role(user, task),
        "label_leader": leaders.get(Role.LABEL_LEADER),
        "review_leader": leaders.get(Role.REVIEW_LEADER),
    }


@router.get("/label-tasks/{task_id}/roles", response=list[TaskRoleOut])
def task_roles(request: HttpRequest, task_id: int) -> Any:
    """Every role of the task (replaced ones inactive) for leaders and above; a worker's own."""
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    return list(queries.task_roles(task, access.label_view(user, task)))


@router.post("/label-tasks/{task_id}/leaders", response=TaskRoleOut)
def set_leader(request: HttpRequest, task_id: int, body: LeaderIn) -> Any:
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    require(permissions.can_assign_leader(user, task.project), "can_assign_leader")
    leader = users_named([body.username], field="username")[0]
    return tasks.set_leader(task, leader, body.role)


@router.post("/label-tasks/{task_id}/workers", response=list[TaskRoleOut])
def init_workers(request: HttpRequest, task_id: int, body: WorkersIn) -> Any:
    """All the labelers (or reviewers) of the task at once, by its label (review) leader."""
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    if body.role == "labeler":
        require(permissions.can_init_label_worker(user, task), "can_init_label_worker")
    else:
        require(permissions.can_init_review_worker(user, task), "can_init_review_worker")
    workers = users_named(body.usernames, field="usernames")
    return tasks.init_workers(task, workers, body.role)


@router.post("/label-tasks/{task_id}/workers/replace", response=TaskRoleOut)
def replace_worker(request: HttpRequest, task_id: int, body: ReplaceIn) -> Any:
    """Reassign one labeler's (reviewer's) work, progress and labels to another user."""
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    if body.role == "labeler":
        require(permissions.can_replace_label_worker(user, task), "can_replace_label_worker")
    else:
        require(permissions.can_replace_review_worker(user, task), "can_replace_review_worker")
    old, new = users_named([body.old, body.new], field="old/new")
    return tasks.replace_worker(task, old, new, body.role)


@router.post("/label-tasks/{task_id}/restart", response=TaskOut)
def restart_task(request: HttpRequest, task_id: int) -> LabelTask:
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    require(permissions.can_restart_task(user, task), "can_restart_task")
    return tasks.restart_task(task)


@router.post("/label-tasks/{task_id}/qa", response=TaskOut)
def qa_task(request: HttpRequest, task_id: int, body: TaskQaIn) -> LabelTask:
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    require(permissions.can_qa_task(user, task.project), "can_qa_task")
    return tasks.qa_task(task, body.action)


@router.get("/label-tasks/{task_id}/images", response=Page[TaskImageOut])
def task_images(
    request: HttpRequest,
    task_id: int,
    status: str | None = None,
    user: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageDict:
    """The task's images in order, with the labels and reviews the caller may see; ``status``
    filters by the caller's own status as a worker (or ``user``'s, for leaders), else by the
    images' overall status."""
    caller = current_user(request)
    task = access.get_task_for(caller, task_id)
    page, items = queries.task_images(
        task,
        access.label_view(caller, task),
        status=status,
        username=user,
        cursor=cursor,
        limit=limit,
    )
    return {"items": items, "next_cursor": page.next_cursor}


@router.get("/label-tasks/{task_id}/images/{task_image_id}", response=TaskImageOut)
def task_image(request: HttpRequest, task_id: int, task_image_id: int) -> Any:
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    task_image = access.get_task_image_in(task, task_image_id)
    return queries.present([task_image], access.label_view(user, task))[0]


@router.put("/label-tasks/{task_id}/images/{task_image_id}/label", response=LabelOut)
def set_label(request: HttpRequest, task_id: int, task_image_id: int, body: LabelIn) -> Any:
    """The caller's label of the image (all its annotations), replacing their previous one."""
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    require(permissions.can_label_image(user, task), "can_label_image")
    task_image = access.get_task_image_in(task, task_image_id)
    items = [a.model_dump() for a in body.annotations]
    label = labels.set_label(task, task_image, user, items)
    return {
        "id": label.pk,
        "username": user.username,
        "annotations": label.annotations,
        "created_ts": label.created_ts,
        "reviews": [],
    }


@router.post("/label-tasks/{task_id}/images/{task_image_id}/reviews", response={201: ReviewOut})
def set_review(
    request: HttpRequest, task_id: int, task_image_id: int, body: ReviewIn
) -> Status[Any]:
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    require(permissions.can_review_image(user, task), "can_review_image")
    task_image = access.get_task_image_in(task, task_image_id)
    review = labels.set_review(
        task, task_image, user, label_id=body.label_id, action=body.action, comment=body.comment
    )
    return Status(
        201,
        {
            "id": review.pk,
            "label_id": review.label_id,
            "username": user.username,
            "action": review.action,
            "comment": review.comment,
            "created_ts": review.created_ts,
        },
    )


@router.get("/label-tasks/{task_id}/agreement", response=AgreementOut)
def task_agreement(
    request: HttpRequest, task_id: int, limit: int = 100, cursor: str | None = None
) -> Any:
    """How far the task's labelers agree, per image and per labeler (leaders and above)."""
    user = current_user(request)
    task = access.get_task_for(user, task_id)
    require(access.label_view(user, task).all_statuses, "can_view_all_roles")
    return queries.task_agreement(task, cursor=cursor, limit=limit)

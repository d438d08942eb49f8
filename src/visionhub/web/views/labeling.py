"""The labeling pages: projects with their progress, a project's set-up and QA, a task's
team, the labeling workspace and the review workspace.

Every object is fetched through ``labeling.access`` with the signed-in person, every change goes
through ``labeling.services``, and every permission is a predicate of ``labeling.permissions``:
the API's rules, written once. The workspace's script saves labels through ``save_label``
(session and CSRF, JSON in and out).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic import ValidationError

from visionhub.core.errors import ApiError, Invalid
from visionhub.datasets import access as dataset_access
from visionhub.datasets.models import Category
from visionhub.datasets.services.decode import content_type
from visionhub.labeling import access, permissions, queries
from visionhub.labeling.access import require
from visionhub.labeling.models import ImageRoleStatus, ImageStatus, LabelTask, LabelTaskImage, Role
from visionhub.labeling.schemas import LabelIn
from visionhub.labeling.services import labels, projects, tasks
from visionhub.labeling.services.common import users_named
from visionhub.storage.http import blob_response
from visionhub.web.paging import keyset_page
from visionhub.web.views import signed_in_user

STATUSES = ("waiting", "working", "reviewing", "rejected", "accepted")


def _back(request: HttpRequest, name: str, pk: int) -> HttpResponse:
    return HttpResponseRedirect(reverse(name, args=[pk]))


def _done(request: HttpRequest, action: Any, success: str) -> None:
    """Run a service call; its refusal becomes the page's error message, not an error page."""
    try:
        action()
    except ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)


@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    found = queries.projects_with_details(access.visible_projects(user))
    page = keyset_page(request, found, order_by=("-id",))
    return render(request, "web/labeling/projects.html", {"page": page, "statuses": STATUSES})


@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    """A new project over datasets the person may change (the same rules as the API)."""
    user = signed_in_user(request)
    require(permissions.can_create_project(user), "can_create_project")
    form = request.POST
    if request.method == "POST":
        try:
            datasets = [
                dataset_access.get_dataset_for(user, _int(pk, "datasets"), write=True)
                for pk in form.getlist("datasets")
            ]
            project = projects.create_project(
                user,
                name=form.get("name", ""),
                datasets=datasets,
                managers=users_named(_words(form.get("managers", "")), field="managers"),
                categories=_words(form.get("categories", "")),
                description=form.get("description", ""),
                pre_label=form.get("pre_label", ""),
            )
        except ApiError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Project created: initialise it to split it into tasks")
            return _back(request, "web:label-project", project.pk)
    choices = list(
        dataset_access.readable_datasets(user).select_related("owner").order_by("-id")[:200]
    )
    context = {"datasets": choices, "form": form, "chosen": form.getlist("datasets")}
    return render(request, "web/labeling/create.html", context)


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace(",", " ").split() if w.strip()]


@require_GET
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    user = signed_in_user(request)
    project = access.get_project_for(user, project_id)
    can = {
        "edit": permissions.can_edit_project(user, project),
        "init": permissions.can_init_project(user, project) and project.status == "waiting",
        "qa": permissions.can_qa_project(user, project) and project.status == "reviewing",
        "export": permissions.can_export_project(user, project) and project.status == "accepted",
        "progress": permissions.can_view_project_progress(user, project),
    }
    context = {
        "project": queries.projects_with_details(type(project).objects.filter(pk=project.pk)).get(),
        "progress": queries.progress(project) if can["progress"] else None,
        "tasks": keyset_page(request, access.visible_tasks(user, project), order_by=("idx",)),
        "can": can,
        "statuses": STATUSES,
    }
    return render(request, "web/labeling/project.html", context)


@require_POST
def project_init(request: HttpRequest, project_id: int) -> HttpResponse:
    user = signed_in_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_init_project(user, project), "can_init_project")
    numbers = {
        k: _int(request.POST.get(k), k) for k in ("batch_size", "label_times", "review_times")
    }
    _done(request, lambda: projects.init_project(project, **numbers), "Splitting into tasks…")
    return _back(request, "web:label-project", project.pk)


@require_POST
def project_qa(request: HttpRequest, project_id: int) -> HttpResponse:
    user = signed_in_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_qa_project(user, project), "can_qa_project")
    action = request.POST.get("action", "")
    _done(request, lambda: projects.qa_project(project, action), f"Project QA: {action}")
    return _back(request, "web:label-project", project.pk)


@require_POST
def project_export(request: HttpRequest, project_id: int) -> HttpResponse:
    user = signed_in_user(request)
    project = access.get_project_for(user, project_id)
    require(permissions.can_export_project(user, project), "can_export_project")
    name, mode = request.POST.get("label_set", ""), request.POST.get("mode", "merge")
    _done(
        request, lambda: projects.export_project(project, label_set=name, mode=mode), "Exporting…"
    )
    return _back(request, "web:label-project", project.pk)


def _int(value: str | None, field: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise Invalid("invalid_config", f"{field} must be a whole number") from None


@require_GET
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    user = signed_in_user(request)
    task = access.get_task_for(user, task_id)
    view = access.label_view(user, task)
    can = {
        "leaders": permissions.can_assign_leader(user, task.project),
        "labelers": permissions.can_init_label_worker(user, task),
        "reviewers": permissions.can_init_review_worker(user, task)
        and bool(task.project.review_times),
        "replace_labeler": permissions.can_replace_label_worker(user, task),
        "replace_reviewer": permissions.can_replace_review_worker(user, task),
        "qa": permissions.can_qa_task(user, task.project)
        and task.status in ("reviewing", "rejected"),
        "restart": permissions.can_restart_task(user, task) and task.status == "rejected",
        "label": permissions.can_label_image(user, task),
        "review": permissions.can_review_image(user, task),
    }
    context = {
        "task": task,
        "project": task.project,
        "roles": list(queries.task_roles(task, view)),
        "leaders": queries.leaders_of(task),
        "my_role": permissions.get_max_role(user, task),
        "can": can,
    }
    return render(request, "web/labeling/task.html", context)


@require_POST
def task_team(request: HttpRequest, task_id: int) -> HttpResponse:
    """Leaders (managers), all the labelers or reviewers (their leader), or a replacement."""
    user = signed_in_user(request)
    task = access.get_task_for(user, task_id)
    what = request.POST.get("what", "")
    names = [
        n.strip() for n in request.POST.get("usernames", "").replace(",", " ").split() if n.strip()
    ]
    if what in ("label_leader", "review_leader"):
        require(permissions.can_assign_leader(user, task.project), "can_assign_leader")
        _done(
            request,
            lambda: tasks.set_leader(
                task, users_named(names[:1] or [""], field="username")[0], what
            ),
            "Leader set",
        )
    elif what in ("labeler", "reviewer"):
        rule = (
            permissions.can_init_label_worker
            if what == "labeler"
            else permissions.can_init_review_worker
        )
        require(rule(user, task), rule.__name__)
        _done(
            request,
            lambda: tasks.init_workers(task, users_named(names, field="usernames"), what),
            "Workers set",
        )
    elif what in ("replace_labeler", "replace_reviewer"):
        role = what.removeprefix("replace_")
        rule = (
            permissions.can_replace_label_worker
            if role == "labeler"
            else permissions.can_replace_review_worker
        )
        require(rule(user, task), rule.__name__)

        def replace() -> None:
            old, new = (
                users_named(names[:2], field="usernames") if len(names) == 2 else (None, None)
            )
            if old is None or new is None:
                raise Invalid("invalid_users", "name the user to replace, then the new one")
            tasks.replace_worker(task, old, new, role)

        _done(request, replace, "Worker replaced")
    else:
        raise Invalid("invalid_action", "unknown team change")
    return _back(request, "web:label-task", task.pk)


@require_POST
def task_qa(request: HttpRequest, task_id: int) -> HttpResponse:
    user = signed_in_user(request)
    task = access.get_task_for(user, task_id)
    action = request.POST.get("action", "")
    if action == "restart":
        require(permissions.can_restart_task(user, task), "can_restart_task")
        _done(request, lambda: tasks.restart_task(task), "Task restarted")
    else:
        require(permissions.can_qa_task(user, task.project), "can_qa_task")
        _done(request, lambda: tasks.qa_task(task, action), f"Task QA: {action}")
    return _back(request, "web:label-task", task.pk)


@require_GET
def image_content(request: HttpRequest, task_id: int, task_image_id: int) -> HttpResponseBase:
    """The image's bytes, for whoever may see the task (ETag = sha256, cached for good)."""
    user = signed_in_user(request)
    task = access.get_task_for(user, task_id)
    image = access.get_task_image_in(task, task_image_id).image
    response = blob_response(request, image.sha256, content_type=content_type(image.format))
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


def _neighbours(task: LabelTask, current: LabelTaskImage) -> tuple[int | None, int | None]:
    images = LabelTaskImage.objects.filter(task=task)
    before = (
        images.filter(idx__lt=current.idx).order_by("-idx").values_list("pk", flat=True).first()
    )
    after = images.filter(idx__gt=current.idx).order_by("idx").values_list("pk", flat=True).first()
    return before, after


def _first_waiting(task: LabelTask, user_id: int, role: str, waiting: Sequence[str]) -> int | None:
    """The first image (by idx) whose status for the caller's ``role`` is one of ``waiting``."""
    mine = ImageRoleStatus.objects.filter(
        task_role__task=task, task_role__user_id=user_id, task_role__role=role,
        task_role__is_active=True, status__in=waiting,
    ).values("task_image_id")  # fmt: skip
    found = LabelTaskImage.objects.filter(task=task, pk__in=mine).order_by("idx").first()
    if found is None:
        found = LabelTaskImage.objects.filter(task=task).order_by("idx").first()
    return found.pk if found is not None else None


def _workspace(
    request: HttpRequest, task_id: int, task_image_id: int | None, mode: str
) -> HttpResponse:
    user = signed_in_user(request)
    task = access.get_task_for(user, task_id)
    if mode == "label":
        require(permissions.can_label_image(user, task), "can_label_image")
        waiting = [ImageStatus.LABELING, ImageStatus.REJECTED]
        role = Role.LABELER
    else:
        require(permissions.can_review_image(user, task), "can_review_image")
        waiting = [ImageStatus.REVIEWING]
        role = Role.REVIEWER
    name = f"web:label-{mode}"
    if task_image_id is None:
        first = _first_waiting(task, user.pk, role, waiting)
        if first is None:
            raise Invalid("task_empty", "this task has no images")
        return HttpResponseRedirect(reverse(name, args=[task.pk, first]))
    current = access.get_task_image_in(task, task_image_id)
    (shown,) = queries.present([current], access.label_view(user, task))
    before, after = _neighbours(task, current)
    content = reverse("web:label-image", args=[task.pk, current.pk])
    keypoints = {
        name: {"names": names, "skeleton": skeleton}
        for name, names, skeleton in Category.objects.filter(
            dataset_id=task.dataset_id, name__in=task.project.categories
        ).values_list("name", "keypoint_names", "keypoint_skeleton")
        if names
    }
    data = {
        "mode": mode,
        "keypoints": keypoints,
        "image": {
            "id": current.pk,
            "width": shown["width"],
            "height": shown["height"],
            "url": content,
        },
        "categories": task.project.categories,
        "labels": shown["labels"],
        "default_labels": shown["default_labels"],
        "my_status": shown["my_status"],
        "username": user.username,
        "save_url": reverse("web:label-save", args=[task.pk, current.pk]),
        "previous_url": reverse(name, args=[task.pk, before]) if before else None,
        "next_url": reverse(name, args=[task.pk, after]) if after else None,
        "next_image_url": reverse("web:label-image", args=[task.pk, after]) if after else None,
    }
    context = {
        "task": task,
        "project": task.project,
        "current": current,
        "shown": shown,
        "data": data,
    }
    return render(request, f"web/labeling/{mode}.html", context)


@require_GET
def label_workspace(
    request: HttpRequest, task_id: int, task_image_id: int | None = None
) -> HttpResponse:
    return _workspace(request, task_id, task_image_id, "label")


@require_GET
def review_workspace(
    request: HttpRequest, task_id: int, task_image_id: int | None = None
) -> HttpResponse:
    return _workspace(request, task_id, task_image_id, "review")


@require_POST
def save_label(request: HttpRequest, task_id: int, task_image_id: int) -> JsonResponse:
    """The workspace's autosave: ``{"annotations": [...]}`` as the API's ``PUT …/label``."""
    user = signed_in_user(request)
    try:
        task = access.get_task_for(user, task_id)
        require(permissions.can_label_image(user, task), "can_label_image")
        task_image = access.get_task_image_in(task, task_image_id)
        try:
            body = LabelIn.model_validate(json.loads(request.body or b"null"))
        except (ValueError, ValidationError) as exc:
            raise Invalid("invalid_label", f"not a label: {str(exc)[:300]}") from None
        label = labels.set_label(task, task_image, user, [a.model_dump() for a in body.annotations])
    except ApiError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"id": label.pk, "annotations": label.annotations})


@require_POST
def save_review(request: HttpRequest, task_id: int, task_image_id: int) -> HttpResponse:
    """The review workspace's accept / reject form; on to the next image waiting for review."""
    user = signed_in_user(request)
    task = access.get_task_for(user, task_id)
    require(permissions.can_review_image(user, task), "can_review_image")
    task_image = access.get_task_image_in(task, task_image_id)
    label_id = _int(request.POST.get("label_id"), "label_id")
    action, comment = request.POST.get("action", ""), request.POST.get("comment", "")[:2000]
    _done(
        request,
        lambda: labels.set_review(
            task, task_image, user, label_id=label_id, action=action, comment=comment
        ),
        f"Review saved: {action}",
    )
    pending = ImageRoleStatus.objects.filter(
        Q(task_image=task_image), task_role__user=user, task_role__role=Role.REVIEWER,
        task_role__is_active=True, status=ImageStatus.REVIEWING,
    ).exists()  # fmt: skip
    if pending:
        return HttpResponseRedirect(reverse("web:label-review", args=[task.pk, task_image.pk]))
    return HttpResponseRedirect(reverse("web:label-review-next", args=[task.pk]))

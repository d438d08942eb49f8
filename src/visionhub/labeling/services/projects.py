"""A labeling project's life: create, edit, initialise into tasks, QA, export (seed
``LabelProject``).

waiting → initializing → working → reviewing → accepted | rejected; accepted → exporting →
exported. ``initializing`` and ``exporting`` are held while the background task runs
(``labeling.tasks``); a failed run goes back to ``waiting`` (or ``accepted``) with its error
in ``LabelProject.error``, and leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid
from visionhub.datasets.models import Annotation, Category, Dataset, Image, LabelSet
from visionhub.datasets.services import labels as dataset_labels
from visionhub.evaluation import comparisons
from visionhub.evaluation.models import Evaluation, ImageErrors
from visionhub.labeling import permissions
from visionhub.labeling.models import (
    ExportMode,
    LabelProject,
    LabelTask,
    LabelTaskImage,
    ProjectImage,
    ProjectRole,
    ProjectStatus,
    Role,
    TaskStatus,
)
from visionhub.labeling.services.common import require_status

log = logging.getLogger(__name__)

MAX_BATCH_SIZE = 100_000
MAX_TIMES = 10
MAX_IMAGES = 1_000_000
# Images read, and task images written, per query during initialisation.
CHUNK = 2000


def normalise_categories(categories: Sequence[str]) -> list[str]:
    """Stripped, lower case, distinct and sorted, as the seed keeps them."""
    return sorted({c.strip().lower() for c in categories if c.strip()})


def _clean_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("invalid_name", "a project name is 1 to 200 characters")
    return name


def create_project(
    owner: User,
    *,
    name: str,
    datasets: Sequence[Dataset],
    managers: Sequence[User],
    categories: Sequence[str],
    description: str = "",
    pre_label: str = "",
    images: Sequence[int] | None = None,
) -> LabelProject:
    """A new project in ``waiting``, its owner and managers given their roles.

    ``datasets``, ``managers`` and ``categories`` may not be empty (422 ``datasets_required``,
    ``managers_required``, ``categories_required``); ``pre_label`` must name a label set of at
    least one of the datasets (422 ``pre_label_not_found``). With ``images`` (ids), the project
    labels those images only, each of which must be in one of the datasets (422
    ``images_not_in_datasets``). The caller has checked that ``owner`` may change every
    dataset.
    """
    if not datasets:
        raise Invalid("datasets_required", "a project needs at least one dataset")
    if not managers:
        raise Invalid("managers_required", "a project needs at least one manager")
    names = normalise_categories(categories)
    if not names:
        raise Invalid("categories_required", "a project needs at least one category")
    if any(len(c) > 200 for c in names):
        raise Invalid("invalid_category", "a category name is at most 200 characters")
    pre_label = pre_label.strip()
    if pre_label and not LabelSet.objects.filter(dataset__in=datasets, name=pre_label).exists():
        raise Invalid(
            "pre_label_not_found",
            f"no dataset of the project has a label set {pre_label!r}",
            details={"pre_label": pre_label},
        )
    subset = _checked_images(datasets, images) if images is not None else None
    with transaction.atomic():
        project = LabelProject.objects.create(
            name=_clean_name(name),
            description=description,
            owner=owner,
            categories=names,
            pre_label=pre_label,
            image_subset=subset is not None,
        )
        project.datasets.set(datasets)
        if subset is not None:
            ProjectImage.objects.bulk_create(
                [ProjectImage(project=project, image_id=pk) for pk in subset], batch_size=5000
            )
        roles = [ProjectRole(project=project, user=owner, role=Role.OWNER)]
        roles += [ProjectRole(project=project, user=m, role=Role.MANAGER) for m in managers]
        ProjectRole.objects.bulk_create(roles)
    return project


def _checked_images(datasets: Sequence[Dataset], images: Sequence[int]) -> list[int]:
    wanted = sorted(set(images))
    if not wanted or len(wanted) > MAX_IMAGES:
        raise Invalid("invalid_images", f"a project names 1 to {MAX_IMAGES} images")
    found: set[int] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.update(
            Image.objects.filter(pk__in=chunk, dataset__in=datasets).values_list("pk", flat=True)
        )
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise Invalid(
            "images_not_in_datasets",
            f"{len(missing)} of the images are not in the project's datasets",
            details={"images": missing[:100]},
        )
    return wanted


def images_from_evaluation(evaluation: Evaluation, *, precision: float, errors: str) -> list[int]:
    """The images an evaluation found wrong at ``precision`` (one of the levels it reached,
    422 ``precision_not_reached`` otherwise): with false positives (``fp``), false negatives
    (``fn``) or either (``both``); 409 ``evaluation_not_done`` before it has finished."""
    if evaluation.status != "done":
        raise Conflict(
            "evaluation_not_done",
            f"the evaluation is {evaluation.status}",
            details={"status": evaluation.status},
        )
    level = comparisons.level_of(evaluation, precision)
    wrong = {
        "fp": Q(num_fp__gt=0),
        "fn": Q(num_fn__gt=0),
        "both": Q(num_fp__gt=0) | Q(num_fn__gt=0),
    }
    if errors not in wrong:
        raise Invalid("invalid_errors", "errors is fp, fn or both")
    found = ImageErrors.objects.filter(wrong[errors], evaluation=evaluation, level=level)
    ids = list(found.values_list("image_id", flat=True))
    # Rows of images deleted since the evaluation are left out (they have no image any more).
    return list(
        Image.objects.filter(dataset_id=evaluation.dataset_id, pk__in=ids).values_list(
            "pk", flat=True
        )
    )


def edit_project(
    project: LabelProject,
    *,
    name: str | None = None,
    description: str | None = None,
    managers: Sequence[User] | None = None,
) -> LabelProject:
    """Change the name, the description and/or the managers (never none: 422
    ``managers_required``); managers left out lose the role, new ones gain it."""
    with transaction.atomic():
        if name is not None:
            project.name = _clean_name(name)
        if description is not None:
            project.description = description
        project.save(update_fields=["name", "description", "updated_ts"])
        if managers is not None:
            if not managers:
                raise Invalid("managers_required", "a project needs at least one manager")
            keep = {m.pk for m in managers}
            ProjectRole.objects.filter(project=project, role=Role.MANAGER).exclude(
                user_id__in=keep
            ).delete()
            ProjectRole.objects.bulk_create(
                [ProjectRole(project=project, user=m, role=Role.MANAGER) for m in managers],
                ignore_conflicts=True,
            )
            permissions.forget(project)
    return project


def managers_of(project: LabelProject) -> list[User]:
    return [
        r.user
        for r in ProjectRole.objects.filter(project=project, role=Role.MANAGER)
        .select_related("user")
        .order_by("user__username")
    ]


def _locked(project: LabelProject) -> LabelProject:
    return LabelProject.objects.select_for_update().get(pk=project.pk)


def init_project(
    project: LabelProject, *, batch_size: int, label_times: int, review_times: int
) -> LabelProject:
    """Fix the project's configuration, once, and queue its split into tasks.

    409 ``project_not_waiting`` unless it is waiting; 422 ``invalid_config`` for a batch size
    outside 0 (one task per dataset) .. ``MAX_BATCH_SIZE``, ``label_times`` outside
    1 .. ``MAX_TIMES`` or ``review_times`` outside 0 .. ``MAX_TIMES``. The project is
    ``initializing`` until the background task (``run_init_project``) ends.
    """
    from visionhub.labeling import tasks

    for field, value, low, high in (
        ("batch_size", batch_size, 0, MAX_BATCH_SIZE),
        ("label_times", label_times, 1, MAX_TIMES),
        ("review_times", review_times, 0, MAX_TIMES),
    ):
        if not low <= value <= high:
            raise Invalid(
                "invalid_config",
                f"{field} must be between {low} and {high}",
                details={"field": field, "value": value},
            )
    with transaction.atomic():
        locked = _locked(project)
        require_status("project", locked.status, [ProjectStatus.WAITING], "initialise the project")
        locked.batch_size, locked.label_times, locked.review_times = (
            batch_size,
            label_times,
            review_times,
        )
        locked.status = ProjectStatus.INITIALIZING
        locked.progress = 0.0
        locked.error = ""
        locked.save()
        transaction.on_commit(lambda: tasks.enqueue_init(locked.pk))
    return locked


def _image_ids(project: LabelProject, dataset: Dataset) -> Iterator[list[int]]:
    """The ids of the dataset's images the project labels, in ``idx`` order, a chunk at a time
    (keyset, not OFFSET)."""
    images = Image.objects.filter(dataset=dataset)
    if project.image_subset:
        images = images.filter(
            pk__in=ProjectImage.objects.filter(project=project).values("image_id")
        )
    last = -1
    while True:
        chunk = list(images.filter(idx__gt=last).order_by("idx").values_list("idx", "id")[:CHUNK])
        if not chunk:
            return
        last = chunk[-1][0]
        yield [pk for _, pk in chunk]


def label_annotation(row: dict[str, Any], category_names: dict[int, str]) -> dict[str, Any]:
    """A dataset annotation (``values()`` row) in the shape labels store."""
    category_id = row["category_id"]
    bbox = None
    if row["bbox_x"] is not None:
        bbox = [row["bbox_x"], row["bbox_y"], row["bbox_w"], row["bbox_h"]]
    return {
        "category": category_names.get(category_id) if category_id is not None else None,
        "bbox": bbox,
        "segmentation": row["segmentation"],
        "keypoints": row["keypoints"],
        "caption": row["caption"],
        "is_group": row["is_group"],
        "conf": row["conf"],
    }


_ANNOTATION_COLUMNS = ("image_id", "category_id", "bbox_x", "bbox_y", "bbox_w", "bbox_h",
                       "segmentation", "keypoints", "caption", "is_group", "conf")  # fmt: skip


def _defaults(
    pre: LabelSet | None, image_ids: list[int], names: dict[int, str]
) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if pre is None:
        return found
    rows = (
        Annotation.objects.filter(label_set=pre, image_id__in=image_ids)
        .order_by("image_id", "id")
        .values(*_ANNOTATION_COLUMNS)
    )
    for row in rows:
        found[row["image_id"]].append(label_annotation(row, names))
    return found


def _ensure_categories(project: LabelProject, dataset: Dataset, pre: LabelSet | None) -> None:
    """Every project category a category of ``dataset``; the pre-labels' categories join the
    project's (as the seed's ``_init_tasks`` does)."""
    if pre is not None:
        used = Category.objects.filter(
            pk__in=Annotation.objects.filter(label_set=pre).values("category_id")
        ).values_list("name", flat=True)
        project.categories = normalise_categories([*project.categories, *used])
    have = set(Category.objects.filter(dataset=dataset).values_list("name", flat=True))
    for name in project.categories:
        if name not in have:
            dataset_labels.create_category(dataset, name)


def _split_dataset(project: LabelProject, dataset: Dataset, first_idx: int) -> tuple[int, int]:
    """Create the tasks of one dataset; returns how many, and how many images they hold."""
    pre = (
        LabelSet.objects.filter(dataset=dataset, name=project.pre_label).first()
        if project.pre_label
        else None
    )
    _ensure_categories(project, dataset, pre)
    names = dict(Category.objects.filter(dataset=dataset).values_list("pk", "name"))
    size = project.batch_size or 2**62  # 0: the whole dataset in one task
    task: LabelTask | None = None
    made = 0
    position = 0
    for ids in _image_ids(project, dataset):
        defaults = _defaults(pre, ids, names)
        rows: list[LabelTaskImage] = []
        for image_id in ids:
            if task is None or position % size == 0:
                if rows:
                    LabelTaskImage.objects.bulk_create(rows)
                    rows = []
                task = LabelTask.objects.create(
                    project=project, dataset=dataset, idx=first_idx + made
                )
                made += 1
            rows.append(
                LabelTaskImage(
                    task=task,
                    image_id=image_id,
                    idx=position % size,
                    default_labels=defaults.get(image_id, []),
                )
            )
            position += 1
        LabelTaskImage.objects.bulk_create(rows)
    return made, position


def run_init_project(project_id: int) -> None:
    """The background half of ``init_project``: split each dataset's images, in ``idx``
    order, into tasks of ``batch_size`` (0: one task per dataset; a dataset without images
    gets none), with the pre-labels as each image's defaults. One transaction per dataset;
    progress is saved between them. On any error the tasks made so far are deleted and the
    project goes back to ``waiting`` with the error, then the error is raised again."""
    project = LabelProject.objects.get(pk=project_id)
    if project.status != ProjectStatus.INITIALIZING:
        return
    datasets = list(project.datasets.order_by("id"))
    if project.image_subset:
        total = ProjectImage.objects.filter(project=project).count() or 1
    else:
        total = sum(d.num_images for d in datasets) or 1
    done = 0
    made = 0
    # A run after a lost worker starts again from nothing.
    LabelTask.objects.filter(project=project).delete()
    try:
        for dataset in datasets:
            with transaction.atomic():
                tasks, images = _split_dataset(project, dataset, made)
            made += tasks
            done += images
            LabelProject.objects.filter(pk=project.pk).update(progress=round(done / total, 4))
        with transaction.atomic():
            counts = dict(
                LabelTask.objects.filter(project=project)
                .values_list("pk")
                .annotate(n=Count("images"))
                .values_list("pk", "n")
            )
            for pk, n in counts.items():
                LabelTask.objects.filter(pk=pk).update(num_total=n)
            LabelProject.objects.filter(pk=project.pk).update(
                status=ProjectStatus.WORKING,
                categories=project.categories,
                task_num_total=made,
                task_num_waiting=made,
                progress=1.0,
            )
    except Exception as exc:
        log.exception("initialising label project %s failed", project_id)
        with transaction.atomic():
            LabelTask.objects.filter(project_id=project_id).delete()
            LabelProject.objects.filter(pk=project_id).update(
                status=ProjectStatus.WAITING, error=f"initialisation failed: {exc}", progress=0.0
            )
        raise


def update_subtask_counter(project: LabelProject) -> LabelProject:
    """Recount the project's tasks per status (call with the project row locked, inside the
    transaction that changed a task). All tasks accepted: the project is ``reviewing``, for
    its owner's QA; a task back at work takes a reviewing or rejected project back to
    ``working``."""
    counts = dict(
        LabelTask.objects.filter(project=project)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    project.task_num_waiting = counts.get(TaskStatus.WAITING, 0)
    project.task_num_working = counts.get(TaskStatus.WORKING, 0)
    project.task_num_reviewing = counts.get(TaskStatus.REVIEWING, 0)
    project.task_num_rejected = counts.get(TaskStatus.REJECTED, 0)
    project.task_num_accepted = counts.get(TaskStatus.ACCEPTED, 0)
    if project.task_num_total and project.task_num_accepted == project.task_num_total:
        if project.status == ProjectStatus.WORKING:
            project.status = ProjectStatus.REVIEWING
    elif project.status in (ProjectStatus.REVIEWING, ProjectStatus.REJECTED):
        project.status = ProjectStatus.WORKING
    project.save()
    return project


def locked_project(project_id: int) -> LabelProject:
    """The project row, locked until the end of the caller's transaction."""
    return LabelProject.objects.select_for_update().get(pk=project_id)


def accept_project(project: LabelProject) -> LabelProject:
    """reviewing → accepted (409 ``project_not_reviewing`` otherwise)."""
    return _qa(project, ProjectStatus.ACCEPTED)


def reject_project(project: LabelProject) -> LabelProject:
    """reviewing → rejected (409 ``project_not_reviewing`` otherwise). Its managers may then
    reject accepted tasks, which takes the project back to ``working``."""
    return _qa(project, ProjectStatus.REJECTED)


def _qa(project: LabelProject, to: str) -> LabelProject:
    with transaction.atomic():
        locked = _locked(project)
        require_status("project", locked.status, [ProjectStatus.REVIEWING], "QA the project")
        locked.status = to
        locked.save(update_fields=["status", "updated_ts"])
    return locked


def qa_project(project: LabelProject, action: str) -> LabelProject:
    """``accept`` or ``reject`` (422 ``invalid_action`` for anything else)."""
    if action == "accept":
        return accept_project(project)
    if action == "reject":
        return reject_project(project)
    raise Invalid("invalid_action", "a project's QA action is accept or reject")


def export_label_set_names(
    project: LabelProject, label_set: str, mode: str, usernames: Sequence[str]
) -> list[str]:
    """The label sets an export writes in each dataset: ``label_set``, or in ``per_labeler``
    mode ``label_set-<username>`` for each labeler."""
    if mode == ExportMode.MERGE:
        return [label_set]
    return [f"{label_set}-{name}" for name in usernames]


def export_project(project: LabelProject, *, label_set: str, mode: str) -> LabelProject:
    """Queue the export of an accepted project into each dataset (``services.export``).

    409 ``project_not_accepted`` unless it is accepted; 409 ``label_set_exists`` if a label
    set it would write already exists in a dataset; 422 ``invalid_name`` for an empty name.
    The project is ``exporting`` until the background task ends.
    """
    from visionhub.labeling import tasks
    from visionhub.labeling.services import export

    label_set = label_set.strip()
    if not 1 <= len(label_set) <= 60:
        raise Invalid("invalid_name", "a label set name is 1 to 60 characters")
    if mode not in ExportMode.values:
        raise Invalid("invalid_mode", "the export mode is merge or per_labeler")
    with transaction.atomic():
        locked = _locked(project)
        require_status("project", locked.status, [ProjectStatus.ACCEPTED], "export the project")
        names = export_label_set_names(locked, label_set, mode, export.labeler_names(locked))
        taken = list(
            LabelSet.objects.filter(dataset__in=locked.datasets.all(), name__in=names)
            .values_list("name", flat=True)
            .distinct()
        )
        if taken:
            raise Conflict(
                "label_set_exists",
                f"a dataset of the project already has a label set {taken[0]!r}",
                details={"names": sorted(taken)},
            )
        locked.status = ProjectStatus.EXPORTING
        locked.export_report = {}
        locked.progress = 0.0
        locked.error = ""
        locked.save()
        transaction.on_commit(lambda: tasks.enqueue_export(locked.pk, label_set, mode))
    return locked

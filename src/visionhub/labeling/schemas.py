"""Request and response shapes of ``/label-projects`` and ``/label-tasks``. Input schemas
refuse unknown keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from visionhub.core.text import LongText
from visionhub.labeling.models import LabelProject, TaskRole


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class FromEvaluationIn(In):
    """The images an evaluation found wrong: ``errors`` ``fp``, ``fn`` or ``both`` at
    ``precision`` (a level the evaluation reached: 0.1 … 0.9)."""

    evaluation: int
    precision: float
    errors: Literal["fp", "fn", "both"] = "both"


class ProjectIn(In):
    name: str = Field(..., max_length=200)
    description: LongText = ""
    datasets: list[int] = Field(default_factory=list, max_length=1000)
    managers: list[str] = Field(..., max_length=1000)
    categories: list[str] = Field(..., max_length=10_000)
    pre_label: str = Field("", max_length=100)
    images: list[int] | None = Field(None, max_length=1_000_000)
    from_evaluation: FromEvaluationIn | None = None


class ProjectPatch(In):
    name: str | None = Field(None, max_length=200)
    description: LongText | None = None
    managers: list[str] | None = Field(None, max_length=1000)


class InitIn(In):
    batch_size: int
    label_times: int
    review_times: int


class ProjectQaIn(In):
    action: Literal["accept", "reject"]


class ExportIn(In):
    label_set: str = Field(..., max_length=60)
    mode: Literal["merge", "per_labeler"] = "merge"


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    owner: str
    datasets: list[int]
    managers: list[str]
    categories: list[str]
    pre_label: str
    image_subset: bool
    status: str
    batch_size: int | None
    label_times: int | None
    review_times: int | None
    task_num_total: int
    task_num_waiting: int
    task_num_working: int
    task_num_reviewing: int
    task_num_rejected: int
    task_num_accepted: int
    progress: float
    error: str
    export_report: dict[str, Any]
    created_ts: datetime
    updated_ts: datetime

    @staticmethod
    def resolve_owner(obj: LabelProject) -> str:
        return obj.owner.username

    @staticmethod
    def resolve_datasets(obj: LabelProject) -> list[int]:
        return sorted(d.pk for d in obj.datasets.all())

    @staticmethod
    def resolve_managers(obj: LabelProject) -> list[str]:
        roles = getattr(obj, "manager_roles", None)
        if roles is None:
            roles = obj.roles.filter(role="manager").select_related("user")
        return sorted(r.user.username for r in roles)


class ProjectRoleOut(Schema):
    username: str
    role: str


class PersonProgress(Schema):
    username: str
    role: str
    tasks: int
    label_num_waiting: int
    review_num_waiting: int
    review_num_rejected: int
    review_num_accepted: int


class ProgressOut(Schema):
    status: str
    progress: float
    task_num_total: int
    task_num_waiting: int
    task_num_working: int
    task_num_reviewing: int
    task_num_rejected: int
    task_num_accepted: int
    num_images: int
    images: dict[str, int]
    people: list[PersonProgress]


class TaskOut(Schema):
    id: int
    project_id: int
    dataset_id: int
    idx: int
    num_total: int
    status: str
    created_ts: datetime


class TaskDetailOut(TaskOut):
    my_role: str | None
    label_leader: str | None
    review_leader: str | None


class TaskRoleOut(Schema):
    id: int
    username: str
    role: str
    is_active: bool
    label_num_waiting: int
    review_num_waiting: int
    review_num_rejected: int
    review_num_accepted: int
    label_completed: bool
    review_completed: bool
    created_ts: datetime

    @staticmethod
    def resolve_username(obj: TaskRole) -> str:
        return obj.user.username


class LeaderIn(In):
    role: Literal["label_leader", "review_leader"]
    username: str


class WorkersIn(In):
    role: Literal["labeler", "reviewer"]
    usernames: list[str] = Field(..., max_length=100)


class ReplaceIn(In):
    role: Literal["labeler", "reviewer"]
    old: str
    new: str


class TaskQaIn(In):
    action: Literal["accept", "reject", "force_accept"]


class LabelAnnotationIn(In):
    """One annotation of a label: a class (``category`` alone), or geometry as the datasets
    app takes it (``bbox`` ``[x, y, w, h]``, COCO polygons or RLE in ``segmentation``,
    ``keypoints`` ``[x, y, v] * K`` for the category's keypoint names), and a caption."""

    category: str | None = None
    bbox: list[float] | None = None
    segmentation: Any = None
    keypoints: list[float] | None = None
    caption: LongText = ""
    is_group: bool = False
    conf: float = 1.0


class LabelIn(In):
    annotations: list[LabelAnnotationIn] = Field(..., max_length=10_000)


class ReviewIn(In):
    label_id: int
    action: Literal["accept", "reject"]
    comment: str = Field("", max_length=2000)


class ReviewOut(Schema):
    id: int
    label_id: int
    username: str
    action: str
    comment: str
    created_ts: datetime


class LabelOut(Schema):
    id: int
    username: str
    annotations: list[dict[str, Any]]
    created_ts: datetime
    reviews: list[ReviewOut]


class TaskImageOut(Schema):
    id: int
    task_id: int
    idx: int
    image_id: int
    width: int
    height: int
    status: str
    my_status: str | None
    role_status: dict[str, str]
    default_labels: list[dict[str, Any]]
    labels: list[LabelOut]
    agreement: dict[str, Any] | None


class ImageAgreementOut(Schema):
    task_image_id: int
    image_id: int
    agreement: dict[str, Any]


class AgreementOut(Schema):
    items: list[ImageAgreementOut]
    labelers: dict[str, dict[str, Any]]
    next_cursor: str | None

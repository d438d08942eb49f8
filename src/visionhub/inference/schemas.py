"""Request and response bodies of the classification and worker endpoints (PRODUCT.md §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from visionhub.inference.models import ClassificationRequest

# --- clients ---------------------------------------------------------------------------------


class ClassifyImageIn(Schema):
    deployment: str
    image_id: int
    priority: int = 0


class BatchIn(Schema):
    deployment: str
    image_ids: list[int] = Field(min_length=1)
    priority: int = 0


class PredictImageIn(Schema):
    image_id: int
    priority: int = 0


class SaveLabelSetIn(Schema):
    deployment: str
    dataset: int | str
    label_set_name: str


class RunFiltersIn(Schema):
    """Which images of the dataset a run takes (the filters of the image list)."""

    model_config = ConfigDict(extra="forbid")

    from_idx: int | None = None
    flag: int | None = None
    label_set: int | None = None
    category: int | None = None
    min_conf: float | None = None
    max_conf: float | None = None
    has_annotations: bool | None = None


class RunIn(Schema):
    model_config = ConfigDict(extra="forbid")

    dataset: int | str
    label_set: str = Field(min_length=1, max_length=100)
    filters: RunFiltersIn | None = None
    priority: int = 0


class RunOut(Schema):
    """A run and its progress: ``done`` + ``failed`` + ``cancelled`` + ``pending`` =
    ``queued``; ``skipped`` images were already predicted into the label set."""

    id: int
    deployment: str
    dataset: int
    label_set: str
    label_set_id: int
    status: str
    filters: dict[str, Any]
    queued: int
    skipped: int
    done: int
    failed: int
    cancelled: int
    pending: int
    annotations: int
    write_errors: list[dict[str, Any]]
    created_at: datetime


class AcceptedOut(Schema):
    id: int
    status: str


class BatchOut(Schema):
    ids: list[int]


class RleOut(Schema):
    size: list[int]
    counts: str | list[int]


class DetectionOut(Schema):
    label: str
    score: float
    box: list[float]
    mask: RleOut | None = None


class ResultOut(Schema):
    """A label and scores (classification), or ``detections`` (label null, scores empty)."""

    label: str | None
    scores: dict[str, float]
    detections: list[DetectionOut] | None = None


class ErrorOut(Schema):
    attempt: int | None
    error: str
    worker: str | None
    at: datetime | None


class ClassificationOut(Schema):
    id: int
    status: str
    deployment: str
    image_sha256: str
    image_id: int | None
    priority: int
    result: ResultOut | None
    errors: list[ErrorOut]
    attempts: int
    created_at: datetime
    assigned_at: datetime | None
    completed_at: datetime | None

    @staticmethod
    def resolve_deployment(obj: ClassificationRequest) -> str:
        return obj.deployment.name

    @staticmethod
    def resolve_assigned_at(obj: ClassificationRequest) -> datetime | None:
        return obj.assigned_on


class WorkerOut(Schema):
    name: str
    owner: str
    version: str
    site: str
    flavor: str
    last_seen: datetime
    jobs_done: int
    jobs_failed: int
    agreement_rate: float | None

    @staticmethod
    def resolve_owner(obj: Any) -> str:
        return str(obj.owner.username)


class StatsOut(Schema):
    deployment: str
    counts: dict[str, int]
    completed_last_minute: int
    failed_last_minute: int
    throughput_per_second: float
    live_workers: list[WorkerOut]


class LabelSetOut(Schema):
    id: int
    name: str
    kind: str
    dataset: int
    annotations: int


# --- workers ---------------------------------------------------------------------------------
# Plain pydantic models: the worker's calls carry hundreds of items, and ninja's ``Schema``
# (which can read ORM objects) costs a validator call per item that these do not need.


class WorkerInfoIn(BaseModel):
    name: str = Field("default", min_length=1, max_length=200)
    version: str | None = Field(None, max_length=100)
    site: str | None = Field(None, max_length=200)
    flavor: str | None = Field(None, max_length=200)


class ClaimIn(BaseModel):
    max: int = Field(1, ge=1)
    wait: float = Field(0, ge=0)
    deployments: list[str] | None = None
    worker: WorkerInfoIn | None = None


class FileRefOut(BaseModel):
    name: str
    sha256: str
    url: str


class ModelRefOut(BaseModel):
    version_id: int
    input: dict[str, Any]
    task: str = "classification"
    output: dict[str, Any] | None = None
    classes: list[str]
    files: list[FileRefOut]


class ImageRefOut(BaseModel):
    sha256: str
    url: str


class JobOut(BaseModel):
    request_id: int
    dispatch_token: str
    lease_expires_at: datetime
    model: ModelRefOut
    image: ImageRefOut


class ClaimOut(BaseModel):
    jobs: list[JobOut]


MAX_ITEMS = 1000


class LeaseIn(BaseModel):
    request_id: int
    dispatch_token: str = Field(max_length=200)


class LeasesIn(BaseModel):
    leases: list[LeaseIn] = Field(max_length=MAX_ITEMS)


class RleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: list[int] = Field(min_length=2, max_length=2)
    counts: str | list[int]


class DetectionIn(BaseModel):
    """One detection, in the original image's pixels: ``box`` is ``[x, y, w, h]``."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(max_length=200)
    score: float
    box: list[float] = Field(min_length=4, max_length=4)
    mask: RleIn | None = None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


MAX_DETECTIONS = 10_000


class ResultIn(BaseModel):
    request_id: int
    dispatch_token: str = Field(max_length=200)
    label: str | None = Field(None, max_length=200)
    scores: dict[str, float] | list[float] | None = None
    error: str | None = None
    detections: list[DetectionIn] | None = Field(None, max_length=MAX_DETECTIONS)


class ResultsIn(BaseModel):
    results: list[ResultIn] = Field(max_length=MAX_ITEMS)


class VerdictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from queue.Verdict

    request_id: int
    status: str
    reason: str | None


class ResultVerdictsOut(BaseModel):
    results: list[VerdictOut]


class LeaseVerdictOut(VerdictOut):
    lease_expires_at: datetime | None


class LeaseVerdictsOut(BaseModel):
    leases: list[LeaseVerdictOut]

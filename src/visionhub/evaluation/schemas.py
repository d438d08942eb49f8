"""Input and output schemas of ``/api/v1/evaluations`` and ``/datasets/{id}/comparisons``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
IouTypeName = Literal["bbox", "segm", "keypoints", "classification"]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class EvaluationParams(Strict):
    kpt_oks_sigmas: list[Annotated[float, Field(gt=0)]] | None = Field(
        default=None, min_length=1, description="keypoints: one sigma per keypoint"
    )
    confusion_iou: float = Field(default=0.5, ge=0, le=1)
    confusion_confidence: float = Field(default=0.25, ge=0, le=1)
    top_k: list[Annotated[int, Field(ge=1, le=100)]] = Field(default=[1, 3, 5], max_length=10)


class EvaluationIn(Strict):
    dataset: Id
    gt: str = Field(min_length=1, max_length=100)
    pred: str = Field(min_length=1, max_length=100)
    iou_type: IouTypeName = "bbox"
    params: EvaluationParams = Field(default_factory=EvaluationParams)


class AcceptedOut(Schema):
    id: int
    status: str


class LabelSetRef(Schema):
    id: int
    name: str
    kind: str


class EvaluationSummaryOut(Schema):
    id: int
    dataset_id: int
    gt: LabelSetRef
    pred: LabelSetRef
    iou_type: str
    params: dict[str, Any]
    status: str
    progress: float
    error: str
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.username if obj.created_by is not None else None


class EvaluationOut(EvaluationSummaryOut):
    metrics: dict[str, Any] | None


class ComparisonQuery(Strict):
    evaluation: Id
    precision: float = Field(ge=0.1, le=0.9)
    order_by: Literal["fp", "fn"] = "fp"
    category: Id | None = None
    limit: int = 100
    cursor: str | None = None


class ComparisonOut(Schema):
    image_id: int
    idx: int
    filename: str
    width: int
    height: int
    thumbnail_sha256: str
    num_fp: int
    num_fn: int

    @staticmethod
    def resolve_idx(obj: Any) -> int:
        return int(obj.image.idx)

    @staticmethod
    def resolve_filename(obj: Any) -> str:
        return str(obj.image.filename)

    @staticmethod
    def resolve_width(obj: Any) -> int:
        return int(obj.image.width)

    @staticmethod
    def resolve_height(obj: Any) -> int:
        return int(obj.image.height)

    @staticmethod
    def resolve_thumbnail_sha256(obj: Any) -> str:
        return str(obj.image.thumbnail_sha256)

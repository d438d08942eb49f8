"""Request and response shapes of the datasets API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from visionhub.core.text import LongText
from visionhub.datasets.models import Annotation, Dataset

# Integers as the database stores them (bigint, and integer for pixel sizes): anything larger
# is a 422 here rather than a database error.
BigInt = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Pixels = Annotated[int, Field(ge=0, le=2**31 - 1)]

VisibilityName = Literal["private", "public"]
StatusName = Literal["waiting", "importing", "ready", "failed"]
KindName = Literal["GT", "Pred", "User"]


class DatasetIn(Schema):
    name: str
    display_name: str = Field("", max_length=200)
    description: LongText = ""
    visibility: VisibilityName = "private"
    img_width: Pixels = 0
    img_height: Pixels = 0
    maintain_ratio: bool = False
    type: str = Field("", max_length=50)
    group: str = Field("", max_length=100)
    object_types: list[str] = []
    details: dict[str, Any] = {}
    compressed: bool = False
    lightweight: bool = False
    stored: bool = True
    model: str | None = None


class DatasetPatch(Schema):
    """``model`` names a model definition you may read (``name`` or ``owner/name``); ``""``
    clears it."""

    name: str | None = None
    display_name: str | None = Field(None, max_length=200)
    description: LongText | None = None
    visibility: VisibilityName | None = None
    img_width: Pixels | None = None
    img_height: Pixels | None = None
    maintain_ratio: bool | None = None
    type: str | None = Field(None, max_length=50)
    status: StatusName | None = None
    detail_status: dict[str, Any] | None = None
    group: str | None = Field(None, max_length=100)
    object_types: list[str] | None = None
    details: dict[str, Any] | None = None
    compressed: bool | None = None
    lightweight: bool | None = None
    stored: bool | None = None
    model: str | None = None
    cover_image_id: Id | None = None


class DatasetOut(Schema):
    id: int
    name: str
    owner: str
    display_name: str
    description: str
    visibility: str
    img_width: int
    img_height: int
    maintain_ratio: bool
    type: str
    status: str
    detail_status: dict[str, Any]
    object_types: list[str]
    group: str
    details: dict[str, Any]
    compressed: bool
    lightweight: bool
    stored: bool
    model: str | None
    flag_export_link: str
    num_images: int
    cover_image_id: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj: Dataset) -> str:
        return obj.owner.username

    @staticmethod
    def resolve_cover_image_id(obj: Dataset) -> int | None:
        return obj.cover_id

    @staticmethod
    def resolve_flag_export_link(obj: Dataset) -> str:
        return f"/api/v1/datasets/{obj.pk}/flags.tsv"

    @staticmethod
    def resolve_model(obj: Dataset) -> str | None:
        """The model definition the dataset trains, as ``owner/name``."""
        model = obj.model
        return None if model is None else f"{model.owner.username}/{model.name}"


class FlagImportOut(Schema):
    updated: int
    skipped: int
    problems: list[dict[str, Any]]


class ImageOut(Schema):
    id: int
    dataset_id: int
    idx: int
    sha256: str
    size: int
    width: int
    height: int
    format: str
    filename: str
    source_id: int | None
    metadata: dict[str, Any]
    flag: int
    flag_ts: datetime | None
    thumbnail_sha256: str
    compare_counts: dict[str, Any]
    label_confirm: dict[str, Any]
    created_at: datetime


class ImagePatch(Schema):
    metadata: dict[str, Any] | None = None
    source_id: BigInt | None = None


class HashesIn(Schema):
    sha256: list[str]


class PresentImage(Schema):
    sha256: str
    id: int


class HashesOut(Schema):
    missing: list[str]
    present: list[PresentImage]
    attachable: list[str]


class StagedOut(Schema):
    sha256: str
    size: int
    width: int
    height: int
    format: str


class HashedImageIn(Schema):
    sha256: str
    filename: str = ""
    metadata: dict[str, Any] = {}
    source_id: BigInt | None = None


class AttachIn(Schema):
    images: list[HashedImageIn]


class Rejected(Schema):
    sha256: str
    code: str
    message: str


class AttachOut(Schema):
    images: list[ImageOut]
    missing: list[str]
    rejected: list[Rejected]


class FlagIn(Schema):
    flag: int


class BulkFlagIn(Schema):
    image_ids: list[Id] = Field(..., max_length=100_000)
    flag: int


class CountOut(Schema):
    count: int


class CategoryIn(Schema):
    name: str
    supercategory: str = Field("", max_length=200)
    keypoint_names: list[str] = []
    keypoint_skeleton: list[list[int]] = []
    keypoint_colors: list[int] = []
    source_id: BigInt | None = None


class CategoryPatch(Schema):
    name: str | None = None
    supercategory: str | None = Field(None, max_length=200)
    keypoint_names: list[str] | None = None
    keypoint_skeleton: list[list[int]] | None = None
    keypoint_colors: list[int] | None = None
    source_id: BigInt | None = None


class CategoryOut(Schema):
    id: int
    dataset_id: int
    name: str
    supercategory: str
    keypoint_names: list[str]
    keypoint_skeleton: list[list[int]]
    keypoint_colors: list[int]
    source_id: int | None
    created_at: datetime


class LabelSetIn(Schema):
    name: str
    kind: KindName = "GT"
    compare_precisions: list[Any] = []


class LabelSetPatch(Schema):
    name: str | None = None
    kind: KindName | None = None
    compare_precisions: list[Any] | None = None


class CloneIn(Schema):
    name: str
    kind: KindName | None = None


class LabelSetOut(Schema):
    id: int
    dataset_id: int
    name: str
    kind: str
    compare_precisions: list[Any]
    cloned_from_id: int | None
    created_at: datetime


class CreatedOut(Schema):
    created: int


class AnnotationOut(Schema):
    id: int
    image_id: int
    label_set_id: int
    category_id: int | None
    conf: float
    is_group: bool
    bbox: list[float] | None
    area: float | None
    segmentation: Any
    keypoints: list[float] | None
    caption: str
    confirm_type: int
    compare_result: dict[str, Any] | None
    matched_gt_id: int | None
    alpha_sha256: str

    @staticmethod
    def resolve_bbox(obj: Annotation) -> list[float] | None:
        return obj.bbox


class AnnotationsOut(Schema):
    annotations: list[AnnotationOut]


class CategoryCount(Schema):
    category_id: int | None
    name: str
    count: int


class LabelSetStats(Schema):
    id: int
    name: str
    kind: str
    num_annotations: int
    categories: list[CategoryCount]


class StatsOut(Schema):
    num_images: int
    num_categories: int
    num_annotations: int
    label_sets: list[LabelSetStats]

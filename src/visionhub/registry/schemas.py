"""Request and response bodies of the registry API (fields listed explicitly)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from visionhub.core.text import LongText
from visionhub.registry.models import (
    BuildVersion,
    Deployment,
    DeploymentRevision,
    ModelDefinition,
    ModelVersion,
    Project,
    Training,
)

# --- model definitions ---------------------------------------------------------------------


class InputSpecIn(Schema):
    width: int
    height: int
    channels: int = 3
    layout: str = "NCHW"
    scale: float = 1 / 255
    mean: list[float] | None = None
    std: list[float] | None = None
    output: str = "logits"
    resize: str = "stretch"
    pad: list[float] | None = None


class FileSpecIn(Schema):
    name: str
    description: LongText = ""
    required: bool = True
    max_mb: float | None = None


class ModelIn(Schema):
    name: str
    task: str = "classification"
    classes: list[str] = Field(default_factory=list)
    input: InputSpecIn
    output: dict[str, Any] | None = None
    files: list[FileSpecIn] | None = None
    data_files: list[FileSpecIn] = Field(default_factory=list)
    description: LongText = ""


class ModelPatch(Schema):
    """Everything but the name; ``input`` may be partial (merged into the current spec)."""

    description: LongText | None = None
    task: str | None = None
    classes: list[str] | None = None
    input: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    files: list[FileSpecIn] | None = None
    data_files: list[FileSpecIn] | None = None


class FileSpecOut(Schema):
    name: str
    description: str
    required: bool
    max_mb: float | None


class ModelOut(Schema):
    id: int
    name: str
    owner: str
    description: str
    task: str
    classes: list[str]
    input: dict[str, Any]
    output: dict[str, Any]
    files: list[FileSpecOut]
    data_files: list[FileSpecOut]
    latest_version: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj: ModelDefinition) -> str:
        return obj.owner.username

    @staticmethod
    def resolve_input(obj: ModelDefinition) -> dict[str, Any]:
        return dict(obj.input_spec)

    @staticmethod
    def resolve_output(obj: ModelDefinition) -> dict[str, Any]:
        return dict(obj.output_spec or {})

    @staticmethod
    def resolve_files(obj: ModelDefinition) -> list[dict[str, Any]]:
        return list(obj.file_specs)

    @staticmethod
    def resolve_data_files(obj: ModelDefinition) -> list[dict[str, Any]]:
        return list(obj.data_files)

    @staticmethod
    def resolve_latest_version(obj: ModelDefinition) -> int | None:
        latest: int | None = getattr(obj, "latest_version", None)
        return latest


class FileOut(Schema):
    name: str
    sha256: str
    size: int


class VersionOut(Schema):
    id: int
    model: str
    owner: str
    version: int
    name: str
    uploaded_on: datetime
    uploaded_by: str | None
    dataset: int | None
    training: int | None
    pretrained: str | None
    details: dict[str, Any]
    files: list[FileOut]
    dataset_snapshot: dict[str, Any] | None
    training_snapshot: dict[str, Any] | None
    compressed: bool
    lightweight: bool

    @staticmethod
    def resolve_model(obj: ModelVersion) -> str:
        return obj.definition.name

    @staticmethod
    def resolve_owner(obj: ModelVersion) -> str:
        return obj.definition.owner.username

    @staticmethod
    def resolve_uploaded_by(obj: ModelVersion) -> str | None:
        return obj.uploaded_by.username if obj.uploaded_by else None

    @staticmethod
    def resolve_dataset(obj: ModelVersion) -> int | None:
        return obj.dataset_id

    @staticmethod
    def resolve_training(obj: ModelVersion) -> int | None:
        return obj.training_id

    @staticmethod
    def resolve_pretrained(obj: ModelVersion) -> str | None:
        return obj.pretrained_ref or None

    @staticmethod
    def resolve_files(obj: ModelVersion) -> list[dict[str, Any]]:
        return [
            {"name": f.name, "sha256": f.sha256, "size": f.size}
            for f in sorted(obj.files.all(), key=lambda f: f.name)
        ]


class VersionPatch(Schema):
    name: str | None = None
    details: dict[str, Any] | None = None


class LineageEntryOut(Schema):
    model: str
    owner: str | None = None
    version: int
    name: str | None = None
    uploaded_on: str | None = None
    pretrained: str | None = None
    details: dict[str, Any] | None = None
    files: list[FileOut] | None = None
    training: dict[str, Any] | None = None
    training_snapshot: dict[str, Any] | None = None
    dataset: dict[str, Any] | None = None
    dataset_snapshot: dict[str, Any] | None = None
    source: str = "live"
    accessible: bool = True


class LineageOut(Schema):
    model: str
    version: int
    chain: list[LineageEntryOut]


# --- projects, build versions, trainings ---------------------------------------------------


class ProjectIn(Schema):
    name: str
    description: LongText = ""
    models: list[str] = Field(default_factory=list)
    home_dir: str = ""
    git_repo: str = ""
    docker_repo: str = ""


class ProjectPatch(Schema):
    description: LongText | None = None
    models: list[str] | None = None
    home_dir: str | None = None
    git_repo: str | None = None
    docker_repo: str | None = None


class ProjectOut(Schema):
    id: int
    name: str
    owner: str
    description: str
    models: list[str]
    home_dir: str
    git_repo: str
    docker_repo: str
    created_at: datetime

    @staticmethod
    def resolve_owner(obj: Project) -> str:
        return obj.owner.username

    @staticmethod
    def resolve_models(obj: Project) -> list[str]:
        return sorted(d.name for d in obj.model_definitions.all())


class BuildVersionIn(Schema):
    tag: str
    built_from: str
    docker_id: str = ""
    git_version: str = ""
    built_at: datetime | None = None


class BuildVersionOut(Schema):
    id: int
    project: str
    tag: str
    docker_id: str
    git_version: str
    built_at: datetime
    built_from: str

    @staticmethod
    def resolve_project(obj: BuildVersion) -> str:
        return obj.project.name


class TrainingIn(Schema):
    name: str = ""
    project: str | None = None
    build_version: str | None = None
    notebook: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class TrainingPatch(Schema):
    state: str | None = None
    progress: float | None = None
    details: dict[str, Any] | None = None


class TrainingOut(Schema):
    id: int
    name: str
    owner: str
    project: str | None
    build_version: str | None
    notebook: str
    state: str
    progress: float
    start_time: datetime | None
    update_time: datetime
    details: dict[str, Any]
    created_at: datetime

    @staticmethod
    def resolve_owner(obj: Training) -> str:
        return obj.owner.username

    @staticmethod
    def resolve_project(obj: Training) -> str | None:
        return obj.project.name if obj.project else None

    @staticmethod
    def resolve_build_version(obj: Training) -> str | None:
        return obj.build_version.tag if obj.build_version else None


# --- deployments ---------------------------------------------------------------------------


class DeploymentIn(Schema):
    name: str
    model: str
    version: int | str
    replication: int = 1
    quorum: int = 1
    match_iou: float = 0.9
    score_tolerance: float = 0.05
    details: dict[str, Any] = Field(default_factory=dict)
    project: str | None = None
    build_version: str | None = None
    notebook: str = ""


class DeploymentPatch(Schema):
    """``version`` (with ``model``, default the current one) rolls out another version.
    ``project`` and ``build_version`` (a tag of the project) may be set to ``null`` to clear."""

    model: str | None = None
    version: int | str | None = None
    replication: int | None = None
    quorum: int | None = None
    match_iou: float | None = None
    score_tolerance: float | None = None
    is_active: bool | None = None
    details: dict[str, Any] | None = None
    project: str | None = None
    build_version: str | None = None
    notebook: str | None = None


class DeploymentOut(Schema):
    id: int
    name: str
    owner: str
    model: str
    model_owner: str
    version: int
    model_version_id: int
    replication: int
    quorum: int
    match_iou: float
    score_tolerance: float
    is_active: bool
    details: dict[str, Any]
    project: str | None
    build_version: str | None
    notebook: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj: Deployment) -> str:
        return obj.owner.username

    @staticmethod
    def resolve_project(obj: Deployment) -> str | None:
        return obj.project.name if obj.project else None

    @staticmethod
    def resolve_build_version(obj: Deployment) -> str | None:
        return obj.build_version.tag if obj.build_version else None

    @staticmethod
    def resolve_model(obj: Deployment) -> str:
        return obj.model_version.definition.name

    @staticmethod
    def resolve_model_owner(obj: Deployment) -> str:
        return obj.model_version.definition.owner.username

    @staticmethod
    def resolve_version(obj: Deployment) -> int:
        return obj.model_version.version


class RevisionOut(Schema):
    id: int
    model_ref: str
    model_version_id: int | None
    replication: int
    quorum: int
    changed_by: str | None
    created_at: datetime

    @staticmethod
    def resolve_changed_by(obj: DeploymentRevision) -> str | None:
        return obj.changed_by.username if obj.changed_by else None

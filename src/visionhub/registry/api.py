"""HTTP API of the registry: models, versions and their files, projects, trainings, deployments.

Each handler: schema in → ``access`` → one service call → schema out. Permissions are in
``access.py``; rules in ``services/``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Max, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from visionhub.accounts import sharing
from visionhub.accounts.auth import current_user
from visionhub.accounts.models import User
from visionhub.accounts.schemas import MemberIn, MemberOut
from visionhub.core.errors import Invalid, NotFound
from visionhub.core.pagination import Page, PageResult, paginate
from visionhub.core.text import parse_json
from visionhub.registry import access, browse, bundles, lineage
from visionhub.registry.models import (
    BuildVersion,
    Deployment,
    ModelDefinition,
    ModelVersion,
    Project,
    Training,
)
from visionhub.registry.schemas import (
    BuildVersionIn,
    BuildVersionOut,
    DeploymentIn,
    DeploymentOut,
    DeploymentPatch,
    LineageOut,
    ModelIn,
    ModelOut,
    ModelPatch,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    RevisionOut,
    TrainingIn,
    TrainingOut,
    TrainingPatch,
    VersionOut,
    VersionPatch,
)
from visionhub.registry.services import definitions, deployments, projects, trainings, versions
from visionhub.registry.uploads import receive_files
from visionhub.storage.http import blob_response

router = Router(tags=["registry"])


def _with_latest(qs: QuerySet[ModelDefinition]) -> QuerySet[ModelDefinition]:
    return qs.select_related("owner").annotate(latest_version=Max("versions__version"))


def _model_out(definition: ModelDefinition) -> ModelDefinition:
    return _with_latest(ModelDefinition.objects.filter(pk=definition.pk)).get()


def _versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("definition__owner", "uploaded_by").prefetch_related(
        "files"
    )


def _version_out(version: ModelVersion) -> ModelVersion:
    return _versions().get(pk=version.pk)


# --- model definitions ---------------------------------------------------------------------


@router.post("/models", response={201: ModelOut})
def create_model(request: HttpRequest, body: ModelIn) -> Status[ModelDefinition]:
    definition = definitions.create_definition(
        current_user(request),
        name=body.name,
        input_spec=body.input.model_dump(),
        task=body.task,
        classes=body.classes,
        file_specs=[f.model_dump() for f in body.files] if body.files is not None else None,
        description=body.description,
        output_spec=body.output,
        data_files=[f.model_dump() for f in body.data_files],
    )
    return Status(201, _model_out(definition))


@router.get("/models", response=Page[ModelOut])
def list_models(
    request: HttpRequest, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    """Models the caller owns or is a member of (staff: all)."""
    qs = _with_latest(access.visible_definitions(current_user(request)))
    return paginate(qs, order_by=("id",), cursor=cursor, limit=limit)


@router.post("/models/import", response={201: VersionOut})
def import_model(
    request: HttpRequest, bundle: File[UploadedFile], model: Form[str] = ""
) -> Status[ModelVersion]:
    """Recreate a version from a bundle of ``GET …/versions/{version}/bundle`` (streamed)."""
    version = bundles.import_bundle(bundle, by=current_user(request), name=model or None)
    return Status(201, _version_out(version))


@router.get("/models/{name}", response=ModelOut)
def get_model(request: HttpRequest, name: str) -> ModelDefinition:
    return _model_out(access.get_definition_for(current_user(request), name))


@router.patch("/models/{name}", response=ModelOut)
def update_model(request: HttpRequest, name: str, body: ModelPatch) -> ModelDefinition:
    definition = access.get_definition_for(current_user(request), name, write=True)
    definitions.update_definition(definition, body.model_dump(exclude_unset=True))
    return _model_out(definition)


@router.delete("/models/{name}", response={204: None})
def delete_model(request: HttpRequest, name: str) -> Status[None]:
    """Delete the model, its versions, and the blobs no other version uses."""
    user = current_user(request)
    definition = access.get_definition_for(user, name)
    access.require_owner(user, definition)
    definitions.delete_definition(definition)
    return Status(204, None)


@router.get("/models/{name}/members", response=Page[MemberOut])
def list_model_members(
    request: HttpRequest, name: str, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    user = current_user(request)
    definition = access.get_definition_for(user, name)
    access.require_owner(user, definition)
    return paginate(sharing.members_of(definition), order_by=("id",), cursor=cursor, limit=limit)


@router.post("/models/{name}/members", response={201: MemberOut})
def set_model_member(request: HttpRequest, name: str, body: MemberIn) -> Status[Any]:
    user = current_user(request)
    definition = access.get_definition_for(user, name)
    access.require_owner(user, definition)
    return Status(201, sharing.set_member(definition, body.username, body.level))


@router.delete("/models/{name}/members/{username}", response={204: None})
def remove_model_member(request: HttpRequest, name: str, username: str) -> Status[None]:
    user = current_user(request)
    definition = access.get_definition_for(user, name)
    access.require_owner(user, definition)
    sharing.remove_member(definition, username)
    return Status(204, None)


# --- versions ------------------------------------------------------------------------------


# The body is parsed by ``receive_files`` (streamed, checked part by part), not by ninja, so
# its shape is declared here for the OpenAPI document.
_PUSH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One part per file, its file name as in the specs.",
                        },
                        "name": {"type": "string"},
                        "dataset": {"type": "string", "description": "id, name or owner/name"},
                        "training": {"type": "integer"},
                        "pretrained": {"type": "string", "description": "NAME:VERSION"},
                        "details": {"type": "string", "description": "a JSON object"},
                        "compressed": {"type": "boolean"},
                        "lightweight": {"type": "boolean"},
                    },
                }
            }
        },
    }
}


@router.post("/models/{name}/versions", response={201: VersionOut}, openapi_extra=_PUSH_BODY)
def push_version(request: HttpRequest, name: str) -> Status[ModelVersion]:
    """Multipart: one ``files`` part per file (named as its file spec); optional fields
    ``name``, ``dataset`` (name, ``owner/name`` or id), ``training`` (id), ``pretrained``
    (``NAME:VERSION``) and ``details`` (JSON object). Parts are streamed and checked as they
    arrive; nothing is kept unless the whole version is accepted."""
    user = current_user(request)
    definition = access.get_definition_for(user, name, write=True)
    limits = {spec["name"]: versions.file_limit(spec) for spec in definition.file_specs}
    with receive_files(request, limits) as received:
        version = versions.create_version(
            definition,
            received.files,
            by=user,
            name=received.fields.get("name", ""),
            provenance=_provenance(user, received.fields),
        )
    return Status(201, _version_out(version))


def _provenance(user: User, fields: Any) -> versions.Provenance:
    provenance = versions.Provenance()
    if dataset := fields.get("dataset"):
        provenance.dataset = access.resolve_dataset(user, dataset)
    if training := fields.get("training"):
        provenance.training = access.get_training_for(user, training)
    if pretrained := fields.get("pretrained"):
        provenance.pretrained = access.get_version_by_ref(user, pretrained)
    if details := fields.get("details"):
        try:
            provenance.details = parse_json(details)
        except ValueError:
            raise Invalid("invalid_details", "details must be a JSON object") from None
    provenance.compressed = _form_bool(fields, "compressed")
    provenance.lightweight = _form_bool(fields, "lightweight")
    return provenance


def _form_bool(fields: Any, name: str) -> bool:
    value = str(fields.get(name, "false")).strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise Invalid("invalid_field", f"{name} must be true or false", details={"field": name})
    return value in ("true", "1")


@router.get("/models/{name}/versions", response=Page[VersionOut])
def list_versions(
    request: HttpRequest, name: str, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    """Newest first."""
    definition = access.get_definition_for(current_user(request), name)
    return paginate(
        _versions().filter(definition=definition),
        order_by=("-version",),
        cursor=cursor,
        limit=limit,
    )


@router.get("/models/{name}/versions/{version}", response=VersionOut)
def get_version(request: HttpRequest, name: str, version: str) -> ModelVersion:
    """``version`` is the number or the name of the version."""
    return _version_out(access.get_model_version_for(current_user(request), name, version))


@router.patch("/models/{name}/versions/{version}", response=VersionOut)
def update_version(
    request: HttpRequest, name: str, version: str, body: VersionPatch
) -> ModelVersion:
    found = access.get_model_version_for(current_user(request), name, version, write=True)
    versions.update_version(found, body.model_dump(exclude_unset=True))
    return _version_out(found)


@router.delete("/models/{name}/versions/{version}", response={204: None})
def delete_version(request: HttpRequest, name: str, version: str) -> Status[None]:
    """Delete a version; blobs no other version references are deleted too."""
    versions.delete_version(
        access.get_model_version_for(current_user(request), name, version, write=True)
    )
    return Status(204, None)


@router.get("/models/{name}/versions/{version}/files/{filename}")
def download_file(request: HttpRequest, name: str, version: str, filename: str) -> HttpResponseBase:
    """One file, streamed, with ``Range`` support and the sha256 as ETag."""
    found = access.get_model_version_for(current_user(request), name, version)
    file = found.files.filter(name=filename).first()
    if file is None:
        raise NotFound("file_not_found", f"version {found.version} has no file {filename!r}")
    return blob_response(request, file.sha256, filename=file.name)


def _tar_response(chunks: Any, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="application/gzip")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename
    )
    return response


@router.get("/models/{name}/versions/{version}/archive")
def download_archive(request: HttpRequest, name: str, version: str) -> StreamingHttpResponse:
    """All files of the version as one streamed ``.tar.gz``."""
    found = access.get_model_version_for(current_user(request), name, version)
    return _tar_response(bundles.archive(found), f"{name}-{found.version}.tar.gz")


@router.get("/models/{name}/versions/{version}/bundle")
def download_bundle(request: HttpRequest, name: str, version: str) -> StreamingHttpResponse:
    """The version as a bundle for ``POST /models/import`` on any server."""
    user = current_user(request)
    found = access.get_model_version_for(user, name, version)
    return _tar_response(
        bundles.bundle(found, viewer=user), f"{name}-{found.version}.bundle.tar.gz"
    )


@router.get("/models/{name}/versions/{version}/lineage", response=LineageOut)
def get_lineage(request: HttpRequest, name: str, version: str) -> dict[str, Any]:
    """The version, then its pretrained parents (nearest first), each with training and
    dataset (live, and as snapshotted when the version was made)."""
    user = current_user(request)
    found = access.get_model_version_for(user, name, version)
    return {
        "model": found.definition.name,
        "version": found.version,
        "chain": lineage.lineage(found, viewer=user),
    }


# --- projects and build versions -----------------------------------------------------------


@router.post("/projects", response={201: ProjectOut})
def create_project(request: HttpRequest, body: ProjectIn) -> Status[Any]:
    user = current_user(request)
    project = projects.create_project(
        user,
        name=body.name,
        models=[access.get_definition_for(user, m) for m in body.models],
        **body.model_dump(include={"description", "home_dir", "git_repo", "docker_repo"}),
    )
    return Status(201, project)


@router.get("/projects", response=Page[ProjectOut])
def list_projects(
    request: HttpRequest, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    qs = access.visible_projects(current_user(request)).select_related("owner")
    return paginate(
        qs.prefetch_related("model_definitions"), order_by=("id",), cursor=cursor, limit=limit
    )


@router.get("/projects/{name}", response=ProjectOut)
def get_project(request: HttpRequest, name: str) -> Any:
    return access.get_project_for(current_user(request), name)


@router.patch("/projects/{name}", response=ProjectOut)
def update_project(request: HttpRequest, name: str, body: ProjectPatch) -> Any:
    user = current_user(request)
    project = access.get_project_for(user, name)
    changes = body.model_dump(exclude_unset=True)
    models = changes.pop("models", None)
    return projects.update_project(
        project,
        changes,
        models=None if models is None else [access.get_definition_for(user, m) for m in models],
    )


@router.delete("/projects/{name}", response={204: None})
def delete_project(request: HttpRequest, name: str) -> Status[None]:
    projects.delete_project(access.get_project_for(current_user(request), name))
    return Status(204, None)


@router.post("/projects/{name}/build-versions", response={201: BuildVersionOut})
def create_build_version(
    request: HttpRequest, name: str, body: BuildVersionIn
) -> Status[BuildVersion]:
    project = access.get_project_for(current_user(request), name)
    return Status(201, projects.create_build_version(project, **body.model_dump()))


@router.get("/projects/{name}/build-versions", response=Page[BuildVersionOut])
def list_build_versions(
    request: HttpRequest, name: str, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    project = access.get_project_for(current_user(request), name)
    qs = BuildVersion.objects.filter(project=project).select_related("project")
    return paginate(qs, order_by=("-id",), cursor=cursor, limit=limit)


@router.get("/projects/{name}/build-versions/{tag}", response=BuildVersionOut)
def get_build_version(request: HttpRequest, name: str, tag: str) -> BuildVersion:
    project = access.get_project_for(current_user(request), name)
    return access.get_build_version(project, tag)


# --- trainings -----------------------------------------------------------------------------


def _trainings() -> QuerySet[Training]:
    return Training.objects.select_related("owner", "project", "build_version")


@router.post("/trainings", response={201: TrainingOut})
def create_training(request: HttpRequest, body: TrainingIn) -> Status[Training]:
    user = current_user(request)
    project = access.get_project_for(user, body.project) if body.project else None
    build_version = None
    if body.build_version:
        if project is None:
            raise Invalid("project_required", "name the project of the build version")
        build_version = access.get_build_version(project, body.build_version)
    training = trainings.create_training(
        user,
        name=body.name,
        project=project,
        build_version=build_version,
        notebook=body.notebook,
        details=body.details,
    )
    return Status(201, _trainings().get(pk=training.pk))


@router.get("/trainings", response=Page[TrainingOut])
def list_trainings(
    request: HttpRequest, state: str | None = None, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    """Newest first; ``state`` filters (WAITING, RUNNING, …)."""
    qs = browse.trainings(current_user(request), state=state)
    return paginate(qs, order_by=("-id",), cursor=cursor, limit=limit)


@router.get("/trainings/{training_id}", response=TrainingOut)
def get_training(request: HttpRequest, training_id: str) -> Training:
    return access.get_training_for(current_user(request), training_id)


@router.patch("/trainings/{training_id}", response=TrainingOut)
def update_training(request: HttpRequest, training_id: str, body: TrainingPatch) -> Training:
    """Report state, progress (0..1, never backwards) and details (merged) of a training."""
    training = access.get_training_for(current_user(request), training_id)
    updated = trainings.update_training(
        training,
        state=body.state.upper() if body.state else None,
        progress=body.progress,
        details=body.details,
    )
    return _trainings().get(pk=updated.pk)


@router.delete("/trainings/{training_id}", response={204: None})
def delete_training(request: HttpRequest, training_id: str) -> Status[None]:
    trainings.delete_training(access.get_training_for(current_user(request), training_id))
    return Status(204, None)


# --- deployments ---------------------------------------------------------------------------


DEPLOYMENT_RELATED = ("owner", "model_version__definition__owner", "project", "build_version")


def _deployment_out(deployment: Deployment) -> Deployment:
    return Deployment.objects.select_related(*DEPLOYMENT_RELATED).get(pk=deployment.pk)


def _project_and_build(
    user: User, project_name: str | None, tag: str | None
) -> tuple[Project | None, BuildVersion | None]:
    """The caller's project and its build ``tag`` named in a deployment's body."""
    project = access.get_project_for(user, project_name) if project_name else None
    if not tag:
        return project, None
    if project is None:
        raise Invalid("project_required", "name the project of the build version")
    return project, access.get_build_version(project, tag)


@router.post("/deployments", response={201: DeploymentOut})
def create_deployment(request: HttpRequest, body: DeploymentIn) -> Status[Deployment]:
    """Route classification requests to ``model``:``version`` (any version you may read)."""
    user = current_user(request)
    project, build_version = _project_and_build(user, body.project, body.build_version)
    deployment = deployments.create_deployment(
        user,
        name=body.name,
        model_version=access.get_model_version_for(user, body.model, body.version),
        replication=body.replication,
        quorum=body.quorum,
        details=body.details,
        project=project,
        build_version=build_version,
        notebook=body.notebook,
        match_iou=body.match_iou,
        score_tolerance=body.score_tolerance,
    )
    return Status(201, _deployment_out(deployment))


@router.get("/deployments", response=Page[DeploymentOut])
def list_deployments(
    request: HttpRequest, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    """Deployments the caller owns or may use (staff: all)."""
    qs = access.visible_deployments(current_user(request)).select_related(*DEPLOYMENT_RELATED)
    return paginate(qs, order_by=("id",), cursor=cursor, limit=limit)


@router.get("/deployments/{name}", response=DeploymentOut)
def get_deployment(request: HttpRequest, name: str) -> Deployment:
    return access.get_deployment_for(current_user(request), name)


@router.patch("/deployments/{name}", response=DeploymentOut)
def update_deployment(request: HttpRequest, name: str, body: DeploymentPatch) -> Deployment:
    """Changing ``version`` (and ``model``) is a rollout, recorded in the history."""
    user = current_user(request)
    deployment = access.get_deployment_for(user, name, write=True)
    new_version = None
    if body.version is not None or body.model is not None:
        model = body.model or _qualified(deployment.model_version)
        number = body.version if body.version is not None else "latest"
        new_version = access.get_model_version_for(user, model, number)
    project, build_version = _patched_project(user, deployment, body)
    updated = deployments.update_deployment(
        deployment,
        by=user,
        model_version=new_version,
        replication=body.replication,
        quorum=body.quorum,
        is_active=body.is_active,
        details=body.details,
        match_iou=body.match_iou,
        score_tolerance=body.score_tolerance,
        project=project,
        build_version=build_version,
        notebook=body.notebook,
    )
    return _deployment_out(updated)


def _patched_project(user: User, deployment: Deployment, body: DeploymentPatch) -> tuple[Any, Any]:
    """The project and build version a PATCH names: ``UNCHANGED`` when absent, ``None`` when
    sent as null; a build tag belongs to the new project, else to the current one."""
    given = body.model_fields_set
    project: Any = deployments.UNCHANGED
    build_version: Any = deployments.UNCHANGED
    if "project" in given:
        project = access.get_project_for(user, body.project) if body.project else None
    if "build_version" in given:
        build_version = None
        if body.build_version:
            owner = deployment.project if project is deployments.UNCHANGED else project
            if owner is None:
                raise Invalid("project_required", "name the project of the build version")
            build_version = access.get_build_version(owner, body.build_version)
    return project, build_version


def _qualified(version: ModelVersion) -> str:
    return f"{version.definition.owner.username}/{version.definition.name}"


@router.delete("/deployments/{name}", response={204: None})
def delete_deployment(request: HttpRequest, name: str) -> Status[None]:
    user = current_user(request)
    deployment = access.get_deployment_for(user, name)
    access.require_owner(user, deployment)
    deployments.delete_deployment(deployment)
    return Status(204, None)


@router.get("/deployments/{name}/history", response=Page[RevisionOut])
def deployment_history(
    request: HttpRequest, name: str, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    """Every version (and replication/quorum) the deployment served, newest first."""
    deployment = access.get_deployment_for(current_user(request), name)
    qs = deployment.revisions.select_related("changed_by")
    return paginate(qs, order_by=("-id",), cursor=cursor, limit=limit)


@router.get("/deployments/{name}/members", response=Page[MemberOut])
def list_deployment_members(
    request: HttpRequest, name: str, limit: int = 100, cursor: str | None = None
) -> PageResult[Any]:
    user = current_user(request)
    deployment = access.get_deployment_for(user, name)
    access.require_owner(user, deployment)
    return paginate(sharing.members_of(deployment), order_by=("id",), cursor=cursor, limit=limit)


@router.post("/deployments/{name}/members", response={201: MemberOut})
def set_deployment_member(request: HttpRequest, name: str, body: MemberIn) -> Status[Any]:
    """``read`` lets the member submit classifications; ``write`` also roll out versions."""
    user = current_user(request)
    deployment = access.get_deployment_for(user, name)
    access.require_owner(user, deployment)
    return Status(201, sharing.set_member(deployment, body.username, body.level))


@router.delete("/deployments/{name}/members/{username}", response={204: None})
def remove_deployment_member(request: HttpRequest, name: str, username: str) -> Status[None]:
    user = current_user(request)
    deployment = access.get_deployment_for(user, name)
    access.require_owner(user, deployment)
    sharing.remove_member(deployment, username)
    return Status(204, None)

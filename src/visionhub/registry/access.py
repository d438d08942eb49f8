"""Who may see and change registry objects. Every object a client names is fetched here.

Rules (those of every shared thing, ``accounts/sharing.py``): the owner and staff may do
anything; a member with ``read`` access may read, with ``write`` may also change (push versions,
edit, roll out); anyone else is told the object does not exist (404, the same answer as for a
missing one). A reader who tries to write gets 403 ``read_only``, anyone but the owner who tries
to manage it 403 ``owner_only``. Reading a deployment is what allows submitting classifications
to it.
"""

from __future__ import annotations

from django.db.models import QuerySet

from visionhub.accounts import sharing
from visionhub.accounts.models import User
from visionhub.accounts.sharing import Level
from visionhub.core.errors import Conflict, Forbidden, Invalid, NotFound
from visionhub.datasets.models import Dataset
from visionhub.registry.models import (
    BuildVersion,
    Deployment,
    ModelDefinition,
    ModelVersion,
    Project,
    Training,
)


def _is_id(key: str) -> bool:
    """A number that fits a database integer (longer digit strings would overflow)."""
    return key.isdigit() and len(key) <= 15


def _model_not_found(name: str) -> NotFound:
    return NotFound("model_not_found", f"no model {name!r}")


def visible_definitions(user: User) -> QuerySet[ModelDefinition]:
    """Definitions ``user`` may read (all of them for staff)."""
    return sharing.readable(ModelDefinition.objects.all(), user)


def can_write_definition(user: User, definition: ModelDefinition) -> bool:
    return sharing.level_of(user, definition) >= Level.WRITE


def get_definition_for(user: User, name: str, *, write: bool = False) -> ModelDefinition:
    """The definition called ``name`` that ``user`` may read (or write).

    Names are unique per owner: ``owner/name`` (or ``owner~name``) names another user's model;
    a bare name is the
    caller's own model, else the one model of that name shared with them (if several are
    shared, 409 ``ambiguous_name`` lists their owners: qualify the name).
    """
    # ``owner~name`` is the same, for URL paths (where a '/' would be a path separator).
    owner_name, _, name = name.replace("~", "/").rpartition("/")
    if owner_name:
        qualified = (
            visible_definitions(user)
            .select_related("owner")
            .filter(owner__username=owner_name, name=name)
            .first()
        )
        if qualified is None:
            raise _model_not_found(f"{owner_name}/{name}")
        return _checked_write(user, qualified, write)
    own = ModelDefinition.objects.select_related("owner").filter(owner=user, name=name).first()
    if own is not None:
        return own
    candidates = list(visible_definitions(user).select_related("owner").filter(name=name)[:10])
    if not candidates:
        raise _model_not_found(name)
    if len(candidates) > 1:
        raise Conflict(
            "ambiguous_name",
            f"several models called {name!r} are shared with you",
            details={"owners": sorted(d.owner.username for d in candidates)},
        )
    return _checked_write(user, candidates[0], write)


def _checked_write(user: User, definition: ModelDefinition, write: bool) -> ModelDefinition:
    if write and not can_write_definition(user, definition):
        raise Forbidden("read_only", f"you may read model {definition.name!r} but not change it")
    return definition


def require_owner(user: User, definition: ModelDefinition | Deployment) -> None:
    """Deleting a model or a deployment and managing its members is for its owner and staff."""
    sharing.require_owner(user, definition)


def parse_model_ref(ref: str) -> tuple[str, str]:
    """``NAME:VERSION`` → ``(name, version)``; raises ``invalid_model_ref`` (422)."""
    name, sep, version = ref.strip().rpartition(":")
    if not sep or not name or not version:
        raise Invalid(
            "invalid_model_ref", f"expected NAME:VERSION, not {ref!r}", details={"ref": ref}
        )
    return name, version


LATEST = "latest"


def find_version(definition: ModelDefinition, version: str | int) -> ModelVersion:
    """Version ``version`` of ``definition``: its number, its name, or ``latest``; else 404."""
    versions = ModelVersion.objects.select_related("definition__owner").filter(
        definition=definition
    )
    key = str(version)
    if key == LATEST:
        found = versions.order_by("-version").first()
    elif _is_id(key):
        found = versions.filter(version=int(key)).first()
    else:
        found = versions.filter(name=key).first()
    if found is None:
        raise NotFound("version_not_found", f"model {definition.name!r} has no version {key!r}")
    return found


def resolve_dataset(user: User, ref: str | int) -> Dataset:
    """The dataset named by ``ref`` (its id, its name, or ``owner/name``) that ``user`` may read."""
    from visionhub.datasets import access as datasets_access

    key = str(ref).strip()
    if _is_id(key):
        return datasets_access.get_dataset_for(user, int(key))
    return datasets_access.get_dataset_by_name_for(user, key)


def get_model_version_for(
    user: User, model_name: str, version: str | int, *, write: bool = False
) -> ModelVersion:
    """Version ``version`` (number or name) of model ``model_name`` as seen by ``user``."""
    return find_version(get_definition_for(user, model_name, write=write), version)


def get_version_by_ref(user: User, ref: str) -> ModelVersion:
    """The version named by ``NAME:VERSION`` that ``user`` may read."""
    name, version = parse_model_ref(ref)
    return get_model_version_for(user, name, version)


def can_read_definition(user: User, definition: ModelDefinition) -> bool:
    return visible_definitions(user).filter(pk=definition.pk).exists()


# --- deployments ---------------------------------------------------------------------------


def visible_deployments(user: User) -> QuerySet[Deployment]:
    return sharing.readable(Deployment.objects.all(), user)


def get_deployment_for(user: User, name: str, *, write: bool = False) -> Deployment:
    """The deployment ``name`` if ``user`` may read it (and, with ``write``, change it).

    Deployment names are unique server-wide, so workers and clients name them unambiguously.
    """
    deployment = (
        visible_deployments(user)
        .select_related("owner", "model_version__definition__owner")
        .filter(name=name)
        .first()
    )
    if deployment is None:
        raise NotFound("deployment_not_found", f"no deployment {name!r}")
    if write and sharing.level_of(user, deployment) < Level.WRITE:
        raise Forbidden("read_only", f"you may use deployment {name!r} but not change it")
    return deployment


# --- projects and trainings (owner and staff) ----------------------------------------------


def visible_projects(user: User) -> QuerySet[Project]:
    return Project.objects.all() if user.is_staff else Project.objects.filter(owner=user)


def get_project_for(user: User, name: str) -> Project:
    """The caller's project ``name`` (staff: anyone's, the caller's own first)."""
    project = Project.objects.filter(owner=user, name=name).first()
    if project is None and user.is_staff:
        project = Project.objects.filter(name=name).order_by("id").first()
    if project is None:
        raise NotFound("project_not_found", f"no project {name!r}")
    return project


def get_build_version(project: Project, tag: str) -> BuildVersion:
    """Build ``tag`` of a project the caller may already see."""
    build = BuildVersion.objects.select_related("project").filter(project=project, tag=tag).first()
    if build is None:
        raise NotFound("build_version_not_found", f"project {project.name!r} has no build {tag!r}")
    return build


def visible_trainings(user: User) -> QuerySet[Training]:
    return Training.objects.all() if user.is_staff else Training.objects.filter(owner=user)


def get_training_for(user: User, training_id: int | str) -> Training:
    """Training ``training_id`` if the caller owns it (or is staff)."""
    key = str(training_id).strip()
    training = (
        visible_trainings(user)
        .select_related("owner", "project", "build_version")
        .filter(pk=int(key))
        .first()
        if _is_id(key)
        else None
    )
    if training is None:
        raise NotFound("training_not_found", f"no training {key!r}")
    return training

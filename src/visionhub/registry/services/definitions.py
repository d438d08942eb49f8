"""Model definitions and their members."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid
from visionhub.core.slugs import validate_slug
from visionhub.registry import specs
from visionhub.registry.models import ModelDefinition, ModelFile
from visionhub.registry.services.blobs import reclaim_after_commit


def create_definition(
    owner: User,
    *,
    name: str,
    input_spec: Mapping[str, Any],
    task: str = "classification",
    classes: Iterable[str] = (),
    file_specs: Iterable[Mapping[str, Any]] | None = None,
    description: str = "",
    output_spec: Mapping[str, Any] | None = None,
    data_files: Iterable[Mapping[str, Any]] | None = None,
) -> ModelDefinition:
    """A new definition owned by ``owner``; the name must be a slug new among their models.

    Raises ``invalid_*`` (422) for a bad spec and ``model_exists`` (409) for a taken name.
    ``output_spec`` is the output contract of a detection or segmentation model
    (``specs.clean_output_spec``). ``data_files`` are the file specs of a training dataset
    (seed 003), checked like ``file_specs``.
    """
    validate_slug(name)
    task = specs.clean_task(task)
    definition = ModelDefinition(
        owner=owner,
        name=name,
        description=description,
        task=task,
        output_spec=specs.clean_output_spec(task, output_spec),
        classes=specs.clean_classes(classes),
        input_spec=specs.clean_input_spec(input_spec),
        file_specs=specs.clean_file_specs(file_specs),
        data_files=specs.clean_file_specs(data_files or []),
    )
    try:
        with transaction.atomic():
            definition.save()
    except IntegrityError:
        raise Conflict("model_exists", f"you already have a model called {name!r}") from None
    return definition


def update_definition(definition: ModelDefinition, changes: Mapping[str, Any]) -> ModelDefinition:
    """Edit anything but the name: ``description, task, classes, input, output, files,
    data_files``.

    ``input`` and ``output`` are merged into the current specs (send only what changes;
    ``output`` starts afresh when the task changes); ``classes`` and ``files`` replace the
    current lists. Existing versions keep their files.
    """
    if "name" in changes and changes["name"] != definition.name:
        raise Invalid("name_not_editable", "a model's name cannot be changed")
    if changes.get("description") is not None:
        definition.description = str(changes["description"])
    old_task = definition.task
    if changes.get("task") is not None:
        definition.task = specs.clean_task(changes["task"])
    if changes.get("output") is not None or definition.task != old_task:
        output = changes.get("output") or {}
        if not isinstance(output, Mapping):
            raise Invalid("invalid_output_spec", "output must be an object")
        base = definition.output_spec if definition.task == old_task else {}
        merged = {**base, **output} if definition.task != "classification" else dict(output)
        definition.output_spec = specs.clean_output_spec(definition.task, merged)
    if changes.get("classes") is not None:
        definition.classes = specs.clean_classes(changes["classes"])
    if changes.get("input") is not None:
        if not isinstance(changes["input"], Mapping):
            raise Invalid("invalid_input_spec", "input must be an object")
        definition.input_spec = specs.clean_input_spec(
            {**definition.input_spec, **changes["input"]}
        )
    if changes.get("files") is not None:
        definition.file_specs = specs.clean_file_specs(changes["files"])
    if changes.get("data_files") is not None:
        definition.data_files = specs.clean_file_specs(changes["data_files"])
    definition.save()
    return definition


def delete_definition(definition: ModelDefinition) -> None:
    """Delete the model with all its versions, and reclaim blobs no other version uses.

    Refused with ``model_in_use`` (409) while a deployment serves one of its versions.
    """
    with transaction.atomic():
        shas = set(
            ModelFile.objects.filter(version__definition=definition).values_list(
                "sha256", flat=True
            )
        )
        try:
            definition.delete()
        except ProtectedError as exc:
            raise Conflict(
                "model_in_use",
                f"model {definition.name!r} has versions in use (deployed or referenced)",
                details={"used_by": sorted({str(o) for o in exc.protected_objects})[:20]},
            ) from None
        reclaim_after_commit(shas)

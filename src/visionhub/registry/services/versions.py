"""Model versions: checked against their definition's file specs, numbered, stored, deleted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError
from django.dispatch import Signal

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid, NotFound
from visionhub.core.slugs import validate_slug
from visionhub.datasets.models import Dataset
from visionhub.registry import lineage, specs
from visionhub.registry.models import ModelDefinition, ModelFile, ModelVersion, Training
from visionhub.registry.services.blobs import BlobGuard, reclaim_after_commit
from visionhub.storage.base import BlobTooLarge
from visionhub.storage.factory import get_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredFile:
    """A file of a version whose blob is already in the store."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class IncomingFile:
    """A received file, not yet in the store: ``open()`` reads it (again) from the start."""

    name: str
    sha256: str
    size: int
    open: Callable[[], BinaryIO]


@dataclass
class Provenance:
    """Where a version comes from. Snapshots default to the live objects as they are now."""

    dataset: Dataset | None = None
    training: Training | None = None
    pretrained: ModelVersion | None = None
    details: dict[str, Any] = field(default_factory=dict)
    dataset_snapshot: dict[str, Any] | None = None
    training_snapshot: dict[str, Any] | None = None
    pretrained_ref: str | None = None
    lineage_snapshot: list[dict[str, Any]] | None = None
    # Seed 003's storage flags, recorded as the uploader states them (docs/registry.md).
    compressed: bool = False
    lightweight: bool = False

    def complete(self, viewer: User | None = None) -> Provenance:
        if self.dataset_snapshot is None:
            self.dataset_snapshot = lineage.dataset_snapshot(self.dataset)
        if self.training_snapshot is None:
            self.training_snapshot = lineage.training_snapshot(self.training)
        if self.pretrained is not None:
            if self.pretrained_ref is None:
                self.pretrained_ref = lineage.version_ref(self.pretrained)
            if self.lineage_snapshot is None:
                self.lineage_snapshot = lineage.lineage(self.pretrained, viewer=viewer)
        return self


def file_limit(spec: Mapping[str, Any]) -> int | None:
    """Bytes allowed for a file of ``spec``, capped by ``MAX_MODEL_FILE_MB`` if set."""
    return specs.max_bytes(spec, getattr(settings, "MAX_MODEL_FILE_MB", None))


def too_large(name: str, limit: int) -> BlobTooLarge:
    return BlobTooLarge(
        "file_too_large",
        f"file {name!r} is larger than its limit of {limit} bytes",
        details={"file": name, "max_bytes": limit},
    )


def check_files(definition: ModelDefinition, files: Mapping[str, int]) -> None:
    """Check file names and sizes (``{name: size}``) against the definition's file specs.

    Raises ``unknown_file`` or ``missing_file`` (422), ``file_too_large`` (413).
    """
    by_name = {spec["name"]: spec for spec in definition.file_specs}
    unknown = sorted(set(files) - set(by_name))
    if unknown:
        raise Invalid(
            "unknown_file",
            f"model {definition.name!r} declares no file {unknown[0]!r}",
            details={"unknown": unknown, "expected": sorted(by_name)},
        )
    missing = sorted(n for n, spec in by_name.items() if spec["required"] and n not in files)
    if missing:
        raise Invalid(
            "missing_file",
            f"required file {missing[0]!r} is missing",
            details={"missing": missing},
        )
    if not files:
        raise Invalid("missing_file", "a version needs at least one file", details={"missing": []})
    for name, size in files.items():
        limit = file_limit(by_name[name])
        if limit is not None and size > limit:
            raise too_large(name, limit)


def clean_version_name(name: str) -> str:
    """A valid version name: empty, or a slug that is neither a number nor ``latest``."""
    if not name:
        return ""
    validate_slug(name, field="version name")
    if name.isdigit() or name == "latest":
        raise Invalid("invalid_name", "a version name cannot be a number or 'latest'")
    return name


def create_version(
    definition: ModelDefinition,
    files: Sequence[IncomingFile],
    *,
    by: User | None,
    name: str = "",
    provenance: Provenance | None = None,
) -> ModelVersion:
    """Store ``files`` and record them as the next version (1, 2, 3…) of ``definition``.

    Everything is checked before anything is kept; if any step fails, no row is written and
    every blob this call added is deleted again. Concurrent uploads get distinct numbers.
    """
    check_files(definition, {f.name: f.size for f in files})
    if len({f.name for f in files}) != len(files):
        raise Invalid("duplicate_file", "each file may be sent once")
    name = clean_version_name(name)
    provenance = (provenance or Provenance()).complete(by)
    limits = {spec["name"]: file_limit(spec) for spec in definition.file_specs}
    with BlobGuard() as guard:
        for incoming in files:
            with incoming.open() as stream:
                guard.put(stream, expected_sha256=incoming.sha256, max_bytes=limits[incoming.name])
        stored = [StoredFile(f.name, f.sha256, f.size) for f in files]
        version = record_version(definition, stored, by=by, name=name, provenance=provenance)
    _restore_missing(files)
    return version


def _restore_missing(files: Sequence[IncomingFile]) -> None:
    """Put back a blob that a concurrent deletion reclaimed between our put and our commit."""
    store = get_store()
    for incoming in files:
        if not store.exists(incoming.sha256):
            log.warning("blob %s vanished during an upload; storing it again", incoming.sha256)
            with incoming.open() as stream:
                store.put(stream, expected_sha256=incoming.sha256)


def record_version(
    definition: ModelDefinition,
    files: Sequence[StoredFile],
    *,
    by: User | None,
    name: str = "",
    provenance: Provenance,
    number: int | None = None,
) -> ModelVersion:
    """Write the rows of a version whose blobs are stored (one transaction).

    ``number`` keeps a given version number (imports) and raises ``version_exists`` (409) if it
    is taken; by default the next number is allocated under a lock on the definition row.
    """
    if not isinstance(provenance.details, dict):
        raise Invalid("invalid_details", "details must be a JSON object")
    for attempt in range(5):
        try:
            with transaction.atomic():
                return _insert(
                    definition, files, by=by, name=name, provenance=provenance, number=number
                )
        except IntegrityError:
            if attempt == 4:
                raise
            log.info("version number race on model %s, retrying", definition.pk)
    raise AssertionError("unreachable")


def _insert(
    definition: ModelDefinition,
    files: Sequence[StoredFile],
    *,
    by: User | None,
    name: str,
    provenance: Provenance,
    number: int | None,
) -> ModelVersion:
    # The row lock serialises numbering on PostgreSQL; SQLite's IMMEDIATE transactions
    # serialise all writers anyway. The unique constraint is the last line of defence.
    locked = ModelDefinition.objects.select_for_update().filter(pk=definition.pk).first()
    if locked is None:
        raise NotFound("model_not_found", f"model {definition.name!r} was deleted")
    siblings = ModelVersion.objects.filter(definition=locked)
    if number is None:
        number = (siblings.aggregate(top=Max("version"))["top"] or 0) + 1
    elif siblings.filter(version=number).exists():
        raise Conflict(
            "version_exists",
            f"model {definition.name!r} already has a version {number}",
            details={"version": number},
        )
    if name and siblings.filter(name=name).exists():
        raise Conflict("version_name_taken", f"model {definition.name!r} has a version {name!r}")
    version = ModelVersion.objects.create(
        definition=locked,
        version=number,
        name=name,
        uploaded_by=by,
        dataset=provenance.dataset,
        training=provenance.training,
        pretrained=provenance.pretrained,
        pretrained_ref=provenance.pretrained_ref or "",
        details=provenance.details,
        dataset_snapshot=provenance.dataset_snapshot,
        training_snapshot=provenance.training_snapshot,
        lineage_snapshot=provenance.lineage_snapshot,
        compressed=provenance.compressed,
        lightweight=provenance.lightweight,
    )
    ModelFile.objects.bulk_create(
        [ModelFile(version=version, name=f.name, sha256=f.sha256, size=f.size) for f in files]
    )
    return version


# Sent inside the transaction of ``delete_version``, before the version is deleted, with
# ``version``: apps whose rows refer to versions (inference) keep their history or refuse the
# deletion by raising an ApiError, without the registry importing them.
version_deleting = Signal()


def delete_version(version: ModelVersion) -> None:
    """Delete a version and, after the commit, the blobs no other version references.

    Refused with ``version_in_use`` (409) while a deployment serves it, or while a receiver of
    ``version_deleting`` refuses it (the inference app: a classification routed to it is still
    pending or assigned). Finished classifications keep their history: they name the version
    as ``model_ref`` ("name:version") from then on.
    """
    with transaction.atomic():
        shas = set(version.files.values_list("sha256", flat=True))
        version_deleting.send(sender=ModelVersion, version=version)
        try:
            version.delete()
        except ProtectedError as exc:
            raise Conflict(
                "version_in_use",
                f"version {version.version} of {version.definition.name!r} is in use",
                details={"used_by": sorted({str(o) for o in exc.protected_objects})[:20]},
            ) from None
        reclaim_after_commit(shas)


def update_version(version: ModelVersion, changes: Mapping[str, Any]) -> ModelVersion:
    """Rename a version or replace its details; its files never change."""
    if "name" in changes and changes["name"] is not None:
        new_name = clean_version_name(str(changes["name"]))
        clash = ModelVersion.objects.filter(definition_id=version.definition_id, name=new_name)
        if new_name and clash.exclude(pk=version.pk).exists():
            raise Conflict("version_name_taken", f"another version is called {new_name!r}")
        version.name = new_name
    if changes.get("details") is not None:
        if not isinstance(changes["details"], dict):
            raise Invalid("invalid_details", "details must be a JSON object")
        version.details = changes["details"]
    version.save(update_fields=["name", "details"])
    return version

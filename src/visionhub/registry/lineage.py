"""Where a model version comes from: snapshots of its training and dataset, and its ancestry.

A version keeps live references (``training``, ``dataset``, ``pretrained``) and, beside them,
snapshots of how those were when the version was made (seed 003's embedded documents). Its
``lineage_snapshot`` freezes the ancestry at creation (or as brought by an imported bundle), so
the chain stays readable after an ancestor is deleted or when it lives on another server.
"""

from __future__ import annotations

from typing import Any

from visionhub.accounts.models import User
from visionhub.datasets.models import Dataset
from visionhub.registry.models import ModelVersion, Training

MAX_DEPTH = 100


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def training_snapshot(training: Training | None) -> dict[str, Any] | None:
    """The training as it is now, as plain JSON."""
    if training is None:
        return None
    return {
        "id": training.pk,
        "name": training.name,
        "owner": training.owner.username,
        "project": training.project.name if training.project else None,
        "build_version": training.build_version.tag if training.build_version else None,
        "notebook": training.notebook,
        "state": training.state,
        "progress": training.progress,
        "start_time": _iso(training.start_time),
        "update_time": _iso(training.update_time),
        "details": training.details,
    }


def dataset_snapshot(dataset: Dataset | None) -> dict[str, Any] | None:
    """The dataset as it is now, as plain JSON."""
    if dataset is None:
        return None
    snapshot: dict[str, Any] = {
        "id": dataset.pk,
        "name": dataset.name,
        "owner": dataset.owner.username,
        "display_name": dataset.display_name,
        "description": dataset.description,
        "details": dataset.details,
        "num_images": dataset.num_images,
        "created_at": _iso(dataset.created_at),
    }
    return snapshot


def version_ref(version: ModelVersion) -> str:
    return f"{version.definition.name}:{version.version}"


def entry(version: ModelVersion, *, live: bool = True) -> dict[str, Any]:
    """One link of a lineage chain: the version, its files, training and dataset."""
    training = version.training
    dataset = version.dataset
    return {
        "model": version.definition.name,
        "owner": version.definition.owner.username,
        "version": version.version,
        "name": version.name,
        "uploaded_on": _iso(version.uploaded_on),
        "pretrained": version.pretrained_ref or None,
        "details": version.details,
        "files": [
            {"name": f.name, "sha256": f.sha256, "size": f.size}
            for f in sorted(version.files.all(), key=lambda f: f.name)
        ],
        "training": training_snapshot(training) if live and training is not None else None,
        "training_snapshot": version.training_snapshot,
        "dataset": dataset_snapshot(dataset) if live and dataset is not None else None,
        "dataset_snapshot": version.dataset_snapshot,
        "source": "live",
        "accessible": True,
    }


def _load(pk: int) -> ModelVersion | None:
    return (
        ModelVersion.objects.select_related(
            "definition__owner",
            "training__owner",
            "training__project",
            "training__build_version",
            "dataset__owner",
        )
        .prefetch_related("files")
        .filter(pk=pk)
        .first()
    )


def ancestors(version: ModelVersion, *, viewer: User | None = None) -> list[dict[str, Any]]:
    """The chain of pretrained parents of ``version``, nearest first.

    Follows live references while they exist, then continues with the snapshot frozen in the
    last live link. Stops at a cycle (which a corrupt database could hold) and at an ancestor
    ``viewer`` may not read (listed by reference only, ``accessible: false``).
    """
    from visionhub.registry.access import can_read_definition

    chain: list[dict[str, Any]] = []
    seen = {version.pk}
    current = version
    while len(chain) < MAX_DEPTH:
        parent_id = current.pretrained_id
        if parent_id is None:
            chain.extend(_frozen(current))
            break
        if parent_id in seen:
            break
        seen.add(parent_id)
        parent = _load(parent_id)
        if parent is None:
            break
        if viewer is not None and not can_read_definition(viewer, parent.definition):
            chain.append(
                {"model": parent.definition.name, "version": parent.version, "accessible": False}
            )
            break
        chain.append(entry(parent))
        current = parent
    return chain


def _frozen(version: ModelVersion) -> list[dict[str, Any]]:
    """Ancestry frozen in ``version`` (its parent was deleted, or lives on another server)."""
    frozen = version.lineage_snapshot or []
    return [{**item, "source": "snapshot", "training": None, "dataset": None} for item in frozen]


def lineage(version: ModelVersion, *, viewer: User | None = None) -> list[dict[str, Any]]:
    """The version itself followed by its ancestors (see ``ancestors``)."""
    loaded = _load(version.pk) or version
    return [entry(loaded), *ancestors(loaded, viewer=viewer)]

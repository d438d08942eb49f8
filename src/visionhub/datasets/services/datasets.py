"""Creating, changing and deleting datasets, and managing their members."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model

from visionhub.accounts.models import User
from visionhub.core.deletion import bulk_delete
from visionhub.core.errors import Conflict, Invalid, NotFound
from visionhub.core.slugs import validate_slug
from visionhub.datasets.models import (
    Annotation,
    Category,
    Dataset,
    Image,
    LabelSet,
)

EDITABLE = frozenset(
    {
        "name",
        "display_name",
        "description",
        "visibility",
        "img_width",
        "img_height",
        "maintain_ratio",
        "type",
        "status",
        "detail_status",
        "group",
        "object_types",
        "details",
        "compressed",
        "lightweight",
        "stored",
        "model",
    }
)


def _save(dataset: Dataset, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            dataset.save(**kwargs)
    except IntegrityError:
        raise Conflict(
            "dataset_exists",
            f"{dataset.owner.username} already has a dataset named {dataset.name!r}",
            details={"name": dataset.name},
        ) from None


def create_dataset(owner: User, name: str, **fields: Any) -> Dataset:
    """A new, empty dataset of ``owner``; ``name`` is a slug unique per owner (409
    ``dataset_exists``)."""
    unknown = set(fields) - EDITABLE
    if unknown:
        raise Invalid(
            "unknown_fields", "unknown dataset fields", details={"fields": sorted(unknown)}
        )
    dataset = Dataset(owner=owner, name=validate_slug(name), **fields)
    _save(dataset)
    return dataset


def update_dataset(
    dataset: Dataset, *, cover_image_id: int | None = None, **changes: Any
) -> Dataset:
    """Change the fields given (``None`` means unchanged); the cover must be one of its images."""
    changes = {k: v for k, v in changes.items() if v is not None}
    unknown = set(changes) - EDITABLE
    if unknown:
        raise Invalid(
            "unknown_fields", "unknown dataset fields", details={"fields": sorted(unknown)}
        )
    if "name" in changes:
        validate_slug(changes["name"])
    if cover_image_id is not None:
        if not Image.objects.filter(pk=cover_image_id, dataset=dataset).exists():
            raise NotFound("image_not_found", "no such image in this dataset")
        dataset.cover_id = cover_image_id
        changes["cover_id"] = cover_image_id
    for field, value in changes.items():
        setattr(dataset, field, value)
    _save(dataset, update_fields=[*changes, "updated_at"])
    return dataset


def set_dataset_model(dataset: Dataset, model: Model | None) -> Dataset:
    """Link ``dataset`` to the model definition it trains (seed 003), or unlink it (None);
    ``links.resolve_model`` finds the definition the caller may read."""
    dataset.model_id = model.pk if model is not None else None
    dataset.save(update_fields=["model", "updated_at"])
    return dataset


def delete_dataset(dataset: Dataset) -> None:
    """Delete a dataset and everything in it: images, categories, label sets, annotations,
    members (seed 004 ``cascade_delete``).

    Each table is emptied with one ``DELETE … WHERE``, never by loading rows, so a dataset of
    a million images goes in one transaction. Blobs stay until ``visionhub gc`` reclaims those
    nothing references any more.
    """
    with transaction.atomic():
        label_sets = LabelSet.objects.filter(dataset=dataset)
        for label_set in label_sets:
            Annotation.objects.filter(label_set=label_set).delete()
        Dataset.objects.filter(pk=dataset.pk).update(cover=None)
        bulk_delete(Image.objects.filter(dataset=dataset))
        label_sets.delete()
        Category.objects.filter(dataset=dataset).delete()
        dataset.delete()

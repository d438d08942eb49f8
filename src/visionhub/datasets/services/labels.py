"""Categories and label sets of a dataset."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, connection, transaction

from visionhub.core.errors import Conflict, Invalid
from visionhub.datasets import sql
from visionhub.datasets.models import (
    Annotation,
    AnnotationCount,
    Category,
    Dataset,
    Image,
    LabelKind,
    LabelSet,
)
from visionhub.datasets.services import counts
from visionhub.datasets.sql import COLUMNS


def _name(value: str, what: str, max_length: int) -> str:
    value = value.strip()
    if not value or len(value) > max_length:
        raise Invalid(
            "invalid_name",
            f"a {what} name is 1 to {max_length} characters",
            details={"field": "name", "value": value[:200]},
        )
    return value


def _keypoint_spec(names: list[str], skeleton: list[list[int]], colors: list[int]) -> None:
    if len(set(names)) != len(names) or not all(n.strip() for n in names):
        raise Invalid("invalid_keypoints", "keypoint names must be distinct and not empty")
    for pair in skeleton:
        if len(pair) != 2 or not all(1 <= k <= len(names) for k in pair):
            raise Invalid(
                "invalid_keypoints",
                "the skeleton is a list of [a, b] pairs of keypoint numbers 1..K",
                details={"pair": pair},
            )
    if colors and (len(colors) != 3 * len(names) or not all(0 <= c <= 255 for c in colors)):
        raise Invalid(
            "invalid_keypoints", "keypoint colors are R, G, B (0-255) for every keypoint name"
        )


def _save(obj: Category | LabelSet, what: str, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            obj.save(**kwargs)
    except IntegrityError:
        raise Conflict(
            f"{what}_exists",
            f"this dataset already has a {what.replace('_', ' ')} with that name or source id",
        ) from None


def create_category(
    dataset: Dataset,
    name: str,
    *,
    supercategory: str = "",
    keypoint_names: list[str] | None = None,
    keypoint_skeleton: list[list[int]] | None = None,
    keypoint_colors: list[int] | None = None,
    source_id: int | None = None,
) -> Category:
    """A new category; names are unique in a dataset (409 ``category_exists``)."""
    category = Category(
        dataset=dataset,
        name=_name(name, "category", 200),
        supercategory=supercategory,
        keypoint_names=keypoint_names or [],
        keypoint_skeleton=keypoint_skeleton or [],
        keypoint_colors=keypoint_colors or [],
        source_id=source_id,
    )
    _keypoint_spec(category.keypoint_names, category.keypoint_skeleton, category.keypoint_colors)
    _save(category, "category")
    return category


def update_category(category: Category, **changes: Any) -> Category:
    """Rename a category or change its keypoint spec.

    The number of keypoints cannot change while annotations carry keypoints of the category
    (409 ``category_in_use``): they would no longer match.
    """
    changes = {k: v for k, v in changes.items() if v is not None}
    if "name" in changes:
        changes["name"] = _name(changes["name"], "category", 200)
    names = changes.get("keypoint_names", category.keypoint_names)
    if len(names) != len(category.keypoint_names) and (
        Annotation.objects.filter(category=category, keypoints__isnull=False).exists()
    ):
        raise Conflict(
            "category_in_use",
            "annotations carry keypoints of this category; the number of keypoints is fixed",
        )
    for field, value in changes.items():
        setattr(category, field, value)
    _keypoint_spec(category.keypoint_names, category.keypoint_skeleton, category.keypoint_colors)
    _save(category, "category", update_fields=list(changes))
    return category


def create_label_set(
    dataset: Dataset,
    name: str,
    *,
    kind: str = LabelKind.GT,
    compare_precisions: list[Any] | None = None,
) -> LabelSet:
    """A new, empty label set; names are unique in a dataset (409 ``label_set_exists``)."""
    label_set = LabelSet(
        dataset=dataset,
        name=_name(name, "label set", 100),
        kind=kind,
        compare_precisions=compare_precisions or [],
    )
    _save(label_set, "label_set")
    return label_set


def update_label_set(label_set: LabelSet, **changes: Any) -> LabelSet:
    changes = {k: v for k, v in changes.items() if v is not None}
    if "name" in changes:
        changes["name"] = _name(changes["name"], "label set", 100)
    for field, value in changes.items():
        setattr(label_set, field, value)
    _save(label_set, "label_set", update_fields=list(changes))
    return label_set


def clone_label_set(source: LabelSet, name: str, *, kind: str | None = None) -> LabelSet:
    """A new label set holding a copy of every annotation of ``source``, made in one
    ``INSERT … SELECT`` (and its counters copied likewise)."""
    quote = connection.ops.quote_name
    with transaction.atomic():
        clone = LabelSet(
            dataset_id=source.dataset_id,
            name=_name(name, "label set", 100),
            kind=kind or source.kind,
            compare_precisions=source.compare_precisions,
            cloned_from=source,
        )
        _save(clone, "label_set")
        columns = ", ".join(quote(c) for c in COLUMNS)
        source_columns = ", ".join("%s" if c == "label_set_id" else quote(c) for c in COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                sql.CLONE_ANNOTATIONS.format(
                    table=quote(Annotation._meta.db_table),
                    columns=columns,
                    source_columns=source_columns,
                ),
                [clone.pk, source.pk],
            )
            cursor.execute(
                sql.CLONE_COUNTS.format(table=quote(AnnotationCount._meta.db_table)),
                [clone.pk, source.pk],
            )
    return clone


def delete_label_set(label_set: LabelSet) -> None:
    """Delete a label set and all its annotations (one ``DELETE`` each)."""
    with transaction.atomic():
        Annotation.objects.filter(label_set=label_set).delete()
        label_set.delete()
        counts.unmark_bare(Image.objects.filter(dataset_id=label_set.dataset_id))

"""The bookkeeping of annotations: counters behind dataset stats (``AnnotationCount``) and
each image's ``annotated`` flag.

Every service that inserts or deletes annotations calls ``add`` / ``mark_annotated`` or
``subtract`` / ``unmark_bare`` in the same transaction, so the counters are exact without ever
grouping the annotation table per request. ``recount`` rebuilds both from the table (the
``?exact=true`` stats path, and repairs after a race between a delete and an insert).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet

from visionhub.core import db
from visionhub.datasets import sql
from visionhub.datasets.models import Annotation, AnnotationCount, Dataset, Image, LabelSet

Key = tuple[int, int]
_CHUNK = 5_000


def add(deltas: Mapping[Key, int]) -> None:
    """Add ``n`` to the counter of each ``(label_set_id, category_id or 0)``."""
    rows = [(ls, cat, n) for (ls, cat), n in sorted(deltas.items()) if n]
    if not rows:
        return
    table = connection.ops.quote_name(AnnotationCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(sql.UPSERT_COUNT.format(table=table), rows)


def grouped(annotations: QuerySet[Annotation]) -> dict[Key, int]:
    """How many of ``annotations`` fall in each (label set, category)."""
    rows = annotations.order_by().values_list("label_set_id", "category_id").annotate(n=Count("id"))
    return {(ls, cat or 0): n for ls, cat, n in rows}


def subtract(annotations: QuerySet[Annotation]) -> None:
    """Account for deleting ``annotations`` (call before deleting them)."""
    add({key: -n for key, n in grouped(annotations).items()})


def mark_annotated(image_ids: Iterable[int]) -> None:
    """Flag these images as having annotations (only those not flagged yet are written)."""
    ids = sorted(set(image_ids))
    table = connection.ops.quote_name(Image._meta.db_table)
    with connection.cursor() as cursor:
        for condition, params in db.id_in_chunks("id", ids):
            cursor.execute(
                sql.MARK_ANNOTATED.format(table=table, condition=condition), [True, False, *params]
            )


def unmark_bare(images: QuerySet[Image]) -> None:
    """Clear the flag of those of ``images`` left without any annotation."""
    bare = ~Exists(Annotation.objects.filter(image=OuterRef("pk")))
    images.filter(annotated=True).filter(bare).update(annotated=False)


def unmark_bare_ids(image_ids: Iterable[int]) -> None:
    ids = sorted(set(image_ids))
    for start in range(0, len(ids), _CHUNK):
        unmark_bare(Image.objects.filter(pk__in=ids[start : start + _CHUNK]))


def recount(dataset: Dataset) -> None:
    """Rebuild the counters and the images' flags of ``dataset`` from its annotations."""
    label_sets = LabelSet.objects.filter(dataset=dataset)
    with transaction.atomic():
        Image.objects.filter(dataset=dataset).update(
            annotated=Exists(Annotation.objects.filter(image=OuterRef("pk")))
        )
        exact = grouped(Annotation.objects.filter(label_set__in=label_sets))
        AnnotationCount.objects.filter(label_set__in=label_sets).delete()
        AnnotationCount.objects.bulk_create(
            AnnotationCount(label_set_id=ls, category_key=cat, num_annotations=n)
            for (ls, cat), n in exact.items()
        )

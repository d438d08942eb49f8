"""Dataset statistics: images, and annotations per category per label set."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from visionhub.datasets.models import AnnotationCount, Category, Dataset, LabelSet
from visionhub.datasets.services import counts


def dataset_stats(dataset: Dataset, *, exact: bool = False) -> dict[str, Any]:
    """Counts read from the maintained counters: a handful of rows whatever the dataset's size.

    With ``exact`` the counters are first rebuilt with a ``GROUP BY`` over the annotations and
    the image count recounted (slow on big datasets; for checks and repairs).
    """
    if exact:
        counts.recount(dataset)
        num_images = Dataset.objects.filter(pk=dataset.pk).aggregate(n=Count("images"))["n"]
        Dataset.objects.filter(pk=dataset.pk).update(num_images=num_images)
        dataset.num_images = num_images
    names = dict(Category.objects.filter(dataset=dataset).values_list("pk", "name"))
    label_sets = list(LabelSet.objects.filter(dataset=dataset).order_by("pk"))
    rows = AnnotationCount.objects.filter(label_set__in=label_sets, num_annotations__gt=0).order_by(
        "label_set_id", "category_key"
    )
    per_set: dict[int, list[dict[str, Any]]] = {ls.pk: [] for ls in label_sets}
    for row in rows:
        category = row.category_key or None
        per_set[row.label_set_id].append(
            {
                "category_id": category,
                "name": names.get(category, "") if category else "",
                "count": row.num_annotations,
            }
        )
    sets = [
        {
            "id": ls.pk,
            "name": ls.name,
            "kind": ls.kind,
            "num_annotations": sum(c["count"] for c in per_set[ls.pk]),
            "categories": per_set[ls.pk],
        }
        for ls in label_sets
    ]
    return {
        "num_images": dataset.num_images,
        "num_categories": len(names),
        "num_annotations": sum(s["num_annotations"] for s in sets),
        "label_sets": sets,
    }

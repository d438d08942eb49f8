"""Images ordered by seed 004's error counts at a precision level (``/comparisons``)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from visionhub.core.errors import Invalid, NotFound
from visionhub.datasets.models import Category, Dataset
from visionhub.evaluation.engine.errors import LEVELS
from visionhub.evaluation.models import CategoryErrors, Evaluation, ImageErrors


def level_of(evaluation: Evaluation, precision: float) -> int:
    """The level (90 … 10) of ``precision``; 422 unless it is one the evaluation reached."""
    level = round(precision * 100)
    if level not in LEVELS or abs(level - precision * 100) > 1e-6:
        raise Invalid(
            "invalid_precision",
            "precision must be one of 0.1, 0.2, … 0.9",
            details={"precision": precision},
        )
    reached = [
        round(p["precision"] * 100)
        for p in (evaluation.metrics or {}).get("compare_precisions", [])
        if p.get("reached")
    ]
    if level not in reached:
        raise Invalid(
            "precision_not_reached",
            f"the predictions never reach precision {precision}",
            details={"reached": [r / 100 for r in reached]},
        )
    return level


def error_rows(
    evaluation: Evaluation, level: int, *, category: int | None = None
) -> QuerySet[ImageErrors] | QuerySet[CategoryErrors]:
    """The per-image (or per image and category) counts at ``level``, with their images
    (unordered; paginate by ``-num_fp`` or ``-num_fn``, then ``-image_id``)."""
    if category is None:
        return ImageErrors.objects.filter(evaluation=evaluation, level=level).select_related(
            "image"
        )
    if not Category.objects.filter(pk=category, dataset_id=evaluation.dataset_id).exists():
        raise NotFound("category_not_found", "no such category in this dataset")
    return CategoryErrors.objects.filter(
        evaluation=evaluation, level=level, category_id=category
    ).select_related("image")


def has_errors(
    dataset: Dataset, evaluation_id: int | None, precision: float | None, errors: str | None
) -> Exists:
    """The gallery filter "has FP" (``errors="fp"``) or "has FN" at ``precision`` of an
    evaluation of ``dataset``: an index probe on ``ImageErrors`` per image."""
    if evaluation_id is None or precision is None or errors not in ("fp", "fn"):
        raise Invalid(
            "invalid_filter",
            "errors (fp or fn) needs evaluation and precision",
            details={"errors": errors, "evaluation": evaluation_id, "precision": precision},
        )
    evaluation = Evaluation.objects.filter(pk=evaluation_id, dataset=dataset).first()
    if evaluation is None:
        raise NotFound("evaluation_not_found", "no such evaluation in this dataset")
    level = level_of(evaluation, precision)
    rows = ImageErrors.objects.filter(evaluation=evaluation, level=level, image=OuterRef("pk"))
    return Exists(rows.filter(**{f"num_{errors}__gt": 0}))

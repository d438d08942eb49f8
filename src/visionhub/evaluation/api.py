"""``/api/v1/evaluations`` and ``/api/v1/datasets/{id}/comparisons``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from visionhub.accounts.auth import current_user
from visionhub.core.errors import NotFound
from visionhub.core.pagination import Page, paginate
from visionhub.datasets import access as dataset_access
from visionhub.evaluation import comparisons, services
from visionhub.evaluation.access import get_evaluation_for
from visionhub.evaluation.models import Evaluation
from visionhub.evaluation.schemas import (
    AcceptedOut,
    ComparisonOut,
    ComparisonQuery,
    EvaluationIn,
    EvaluationOut,
    EvaluationSummaryOut,
)

router = Router(tags=["evaluation"])


@router.post("/evaluations", response={202: AcceptedOut})
def create_evaluation(request: HttpRequest, body: EvaluationIn) -> Status[AcceptedOut]:
    """Evaluate label set ``pred`` against ``gt`` (names in ``dataset``) in the background."""
    user = current_user(request)
    dataset = dataset_access.get_dataset_for(user, body.dataset, write=True)
    evaluation = services.create_evaluation(
        dataset,
        gt=body.gt,
        pred=body.pred,
        iou_type=body.iou_type,
        params=body.params.model_dump(exclude_none=True),
        by=user,
    )
    return Status(202, AcceptedOut(id=evaluation.pk, status=evaluation.status))


@router.get("/evaluations", response=Page[EvaluationSummaryOut])
def list_evaluations(
    request: HttpRequest, dataset: int, limit: int = 100, cursor: str | None = None
) -> dict[str, Any]:
    """A dataset's evaluations, newest first."""
    chosen = dataset_access.get_dataset_for(current_user(request), dataset)
    rows = Evaluation.objects.filter(dataset=chosen).select_related("gt", "pred", "created_by")
    page = paginate(rows, order_by=("-id",), cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/evaluations/{evaluation_id}", response=EvaluationOut)
def get_evaluation(request: HttpRequest, evaluation_id: int) -> Any:
    """Status, progress and (when done) metrics: COCO stats, per category, curves, confusion."""
    return get_evaluation_for(current_user(request), evaluation_id)


@router.delete("/evaluations/{evaluation_id}", response={204: None})
def delete_evaluation(request: HttpRequest, evaluation_id: int) -> Status[None]:
    services.delete_evaluation(get_evaluation_for(current_user(request), evaluation_id, write=True))
    return Status(204, None)


@router.get("/datasets/{dataset_id}/comparisons", response=Page[ComparisonOut])
def list_comparisons(
    request: HttpRequest, dataset_id: int, query: Query[ComparisonQuery]
) -> dict[str, Any]:
    """Images by descending false positives (``order_by=fp``) or negatives at a precision."""
    user = current_user(request)
    dataset = dataset_access.get_dataset_for(user, dataset_id)
    evaluation = get_evaluation_for(user, query.evaluation)
    if evaluation.dataset_id != dataset.pk:
        raise NotFound("evaluation_not_found", "no such evaluation in this dataset")
    services.check_done(evaluation)
    level = comparisons.level_of(evaluation, query.precision)
    rows = comparisons.error_rows(evaluation, level, category=query.category)
    order = (f"-num_{query.order_by}", "-image_id")
    page = paginate(rows, order_by=order, cursor=query.cursor, limit=query.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}

"""Evaluations are seen by whoever may read their dataset, changed by whoever may write it."""

from __future__ import annotations

from visionhub.accounts.models import User
from visionhub.accounts.sharing import Level
from visionhub.core.errors import NotFound
from visionhub.datasets import access as dataset_access
from visionhub.evaluation.models import Evaluation


def get_evaluation_for(user: User, evaluation_id: int, *, write: bool = False) -> Evaluation:
    """The evaluation if ``user`` may read its dataset (``write``: change it); the same 404
    for a missing evaluation and one on a dataset the caller cannot read."""
    evaluation = None
    if 0 < evaluation_id < 2**63:
        evaluation = (
            Evaluation.objects.select_related("dataset", "gt", "pred", "created_by")
            .filter(pk=evaluation_id)
            .first()
        )
    if evaluation is None:
        raise NotFound("evaluation_not_found", "no such evaluation")
    level = Level.WRITE if write else Level.READ
    dataset_access.check(user, evaluation.dataset, level, "evaluation")
    return evaluation

"""Client methods for evaluations (``client.evaluations``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from visionhub.client.base import BaseClient

JSON = dict[str, Any]
FINISHED = ("done", "failed")


class EvaluationsClient:
    """``/api/v1/evaluations`` and ``/datasets/{id}/comparisons``."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def create(
        self,
        dataset_id: int,
        *,
        gt: str,
        pred: str,
        iou_type: str = "bbox",
        params: JSON | None = None,
    ) -> JSON:
        """Start an evaluation of label set ``pred`` against ``gt``; ``{id, status}``."""
        body = {"dataset": dataset_id, "gt": gt, "pred": pred, "iou_type": iou_type}
        if params:
            body["params"] = params
        result: JSON = self._client.post("/evaluations", json=body)
        return result

    def get(self, evaluation_id: int) -> JSON:
        result: JSON = self._client.get(f"/evaluations/{evaluation_id}")
        return result

    def list(self, dataset_id: int) -> Iterator[JSON]:
        return self._client.iterate("/evaluations", {"dataset": dataset_id})

    def delete(self, evaluation_id: int) -> None:
        self._client.delete(f"/evaluations/{evaluation_id}")

    def wait(
        self,
        evaluation_id: int,
        *,
        timeout: float | None = None,
        interval: float = 0.5,
        progress: Callable[[JSON], None] | None = None,
    ) -> JSON:
        """Poll until the evaluation is done or failed (or ``timeout`` seconds pass:
        ``TimeoutError``); ``progress`` sees every state polled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.get(evaluation_id)
            if progress is not None:
                progress(state)
            if state["status"] in FINISHED:
                return state
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"evaluation {evaluation_id} is still {state['status']}")
            time.sleep(interval)

    def comparisons(
        self,
        dataset_id: int,
        evaluation_id: int,
        *,
        precision: float,
        order_by: str = "fp",
        category: int | None = None,
    ) -> Iterator[JSON]:
        """Images by descending FP (or FN) count at ``precision``, every page."""
        query: JSON = {"evaluation": evaluation_id, "precision": precision, "order_by": order_by}
        if category is not None:
            query["category"] = category
        return self._client.iterate(f"/datasets/{dataset_id}/comparisons", query, page_size=500)

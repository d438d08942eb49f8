"""The evaluation rows of the stranger matrix (``tests/strangers.py``): alice's private dataset
and what names it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Person
from tests.datasets.helpers import new_dataset
from tests.strangers import Hidden, Pending, Row

TEST = "evaluation/test_bad_input_and_strangers.py"


def world(alice: Person, admin: Person) -> dict[str, Any]:
    return {"dataset_id": new_dataset(alice, "evaluated")["id"]}


ROWS: list[Row] = [
    Hidden(
        "POST",
        "/evaluations",
        "dataset_not_found",
        json=lambda w: {"dataset": w["dataset_id"], "gt": "gt", "pred": "pred"},
    ),
    Hidden(
        "GET", "/evaluations", "dataset_not_found", params=lambda w: {"dataset": w["dataset_id"]}
    ),
    Pending(
        "GET",
        "/evaluations/{evaluation_id}",
        "eval",
        f"the world needs a finished evaluation of alice's; charlie's 404 is in {TEST}",
    ),
    Pending(
        "DELETE",
        "/evaluations/{evaluation_id}",
        "eval",
        f"the world needs a finished evaluation of alice's; charlie's 404 is in {TEST}",
    ),
    Hidden(
        "GET",
        "/datasets/{dataset_id}/comparisons",
        "dataset_not_found",
        params={"evaluation": 1, "precision": 0.5},
    ),
]

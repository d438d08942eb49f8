"""The evaluation pages over HTTP: a dataset's evaluations, one evaluation's summary, AP bars,
PR curves, precision levels, confusion heat map and its images by error count; strangers 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.conftest import Person
from tests.evaluation.conftest import Imported, import_set
from tests.evaluation.synthetic import generate
from tests.tasks_support import RunTasks, run_tasks

__all__ = ["run_tasks"]

Pages = Callable[[Person], httpx.Client]


@pytest.fixture(scope="module")
def evaluated(alice: Person, run_tasks: RunTasks) -> tuple[Imported, dict[str, Any]]:
    imported = import_set(alice, generate(31, images=12))
    response = alice.http.post(
        "/evaluations", json={"dataset": imported.dataset_id, "gt": "gt", "pred": "pred"}
    )
    assert response.status_code == 202, response.text
    run_tasks()
    return imported, alice.http.get(f"/evaluations/{response.json()['id']}").json()


def test_an_evaluation_page_shows_its_metrics(
    session_of: Pages, alice: Person, evaluated: tuple[Imported, dict[str, Any]]
) -> None:
    imported, state = evaluated
    pages = session_of(alice)
    html = pages.get(f"/evaluations/{state['id']}/").text
    assert f"{state['metrics']['stats']['AP']:.3f}" in html
    for marker in ('id="stats"', 'id="ap-bars"', 'id="pr-curves"', 'id="levels"', 'id="confusion"'):
        assert marker in html
    assert html.count("<polyline") >= 1
    assert "background" in html
    listing = pages.get(f"/datasets/{imported.dataset_id}/evaluations/").text
    assert f'href="/evaluations/{state["id"]}/"' in listing


def test_the_images_with_most_errors_at_a_precision(
    session_of: Pages, alice: Person, evaluated: tuple[Imported, dict[str, Any]]
) -> None:
    _, state = evaluated
    reached = [p["precision"] for p in state["metrics"]["compare_precisions"] if p["reached"]]
    pages = session_of(alice)
    for order in ("fp", "fn"):
        response = pages.get(
            f"/evaluations/{state['id']}/", params={"precision": reached[0], "order_by": order}
        )
        assert response.status_code == 200
        assert 'id="worst"' in response.text and "/thumbnail" in response.text
    bad = pages.get(f"/evaluations/{state['id']}/", params={"precision": 0.85})
    assert bad.status_code == 422


def test_a_stranger_gets_404_for_every_evaluation_page(
    session_of: Pages, charlie: Person, evaluated: tuple[Imported, dict[str, Any]]
) -> None:
    imported, state = evaluated
    pages = session_of(charlie)
    assert pages.get(f"/evaluations/{state['id']}/").status_code == 404
    assert pages.get(f"/datasets/{imported.dataset_id}/evaluations/").status_code == 404

"""Evaluations run on the task workers of `visionhub serve`: progress, failures with their
error, and an evaluation whose worker died midway finished by the next one."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import numpy as np
import orjson
import pytest
from tests.conftest import Person
from tests.evaluation.conftest import import_set
from tests.evaluation.oracle import coco_eval
from tests.evaluation.synthetic import generate
from tests.helpers import wait_until
from tests.tasks_support import TASK_TEST_ENV

pytestmark = pytest.mark.process

Committed = Callable[[], AbstractContextManager[None]]


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return TASK_TEST_ENV


def finished(person: Person, eid: int) -> Callable[[], Any]:
    def check() -> Any:
        state = person.http.get(f"/evaluations/{eid}").json()
        return state if state["status"] in ("done", "failed") else None

    return check


def test_the_servers_task_worker_runs_an_evaluation_and_the_cli_prints_it(
    alice: Person, server: Any
) -> None:
    data = generate(21, images=12)
    imported = import_set(alice, data)
    name = alice.http.get(f"/datasets/{imported.dataset_id}").json()["name"]
    run = server.cli(
        "evaluate", name, "--gt", "gt", "--pred", "pred", "--wait",
        env={"VISIONHUB_TOKEN": alice.token},
    )  # fmt: skip
    oracle = coco_eval(data, "bbox")
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = " in run.stdout
    assert f"= {oracle.stats[0]:0.3f}" in run.stdout
    as_json = server.cli(
        "evaluate", name, "--gt", "gt", "--pred", "pred", "--wait", "--json",
        env={"VISIONHUB_TOKEN": alice.token},
    )  # fmt: skip
    import json

    state = json.loads(as_json.stdout)
    assert state["status"] == "done"
    assert np.abs(np.array(state["metrics"]["stats_list"]) - oracle.stats).max() <= 1e-12


def test_an_evaluation_that_fails_ends_failed_with_its_error(
    alice: Person, committed: Committed
) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from visionhub.datasets.models import Dataset
    from visionhub.datasets.services import annotations
    from visionhub.evaluation import services

    imported = import_set(alice, generate(22, images=4))
    # A box evaluation, and (before any worker sees it) a prediction without a box: the
    # task finds it, fails, and says why.
    with committed(), transaction.atomic():
        dataset = Dataset.objects.get(pk=imported.dataset_id)
        user = get_user_model().objects.get(username=alice.username)
        evaluation = services.create_evaluation(
            dataset, gt="gt", pred="pred", iou_type="bbox", params={}, by=user
        )
        pred = dataset.label_sets.get(name="pred")
        body = {"annotations": [{
            "image_id": next(iter(imported.images.values())), "label_set_id": pred.pk,
            "category_id": next(iter(imported.categories.values())), "conf": 0.5,
        }]}  # fmt: skip
        annotations.create_annotations_json(dataset, orjson.dumps(body))
    state = wait_until(finished(alice, evaluation.pk), timeout=60)
    assert state["status"] == "failed"
    assert "has no box (iou_type bbox)" in state["error"], state["error"]
    assert state["metrics"] is None


def test_an_evaluation_left_running_by_a_dead_worker_is_finished_by_the_next(
    alice: Person, committed: Committed
) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from visionhub.datasets.models import Dataset
    from visionhub.evaluation import services
    from visionhub.evaluation.models import Evaluation

    data = generate(23, images=10)
    imported = import_set(alice, data)
    # As a worker killed midway leaves it: the task claimed, the evaluation a third done.
    with committed(), transaction.atomic():
        dataset = Dataset.objects.get(pk=imported.dataset_id)
        user = get_user_model().objects.get(username=alice.username)
        evaluation = services.create_evaluation(
            dataset, gt="gt", pred="pred", iou_type="bbox", params={}, by=user
        )
        DBTaskResult.objects.filter(id=evaluation.task_id).update(
            status="RUNNING",
            started_at=timezone.now() - timedelta(minutes=5),
            worker_ids=["killed-worker"],
        )
        Evaluation.objects.filter(pk=evaluation.pk).update(status="running", progress=0.3)
    state = wait_until(finished(alice, evaluation.pk), timeout=90)  # the server's worker
    assert state["status"] == "done", state
    stats = np.array(state["metrics"]["stats_list"])
    assert np.abs(stats - coco_eval(data, "bbox").stats).max() <= 1e-12
    with committed():
        task = DBTaskResult.objects.get(id=evaluation.task_id)
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids[0] == "killed-worker" and len(task.worker_ids) == 2

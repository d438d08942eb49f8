"""A classification label set measured against its ground truth: scikit-learn's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)
from tests.conftest import Person
from tests.evaluation.conftest import import_set
from tests.tasks_support import RunTasks


def test_classification_metrics_equal_scikit_learns(alice: Person, run_tasks: RunTasks) -> None:
    rng = np.random.default_rng(4)
    n, k = 60, 4
    truth = rng.integers(0, k, n)
    scores = rng.random((n, k)) + np.eye(k)[truth] * rng.uniform(0, 1.2, n)[:, None]
    scores = np.round(scores / scores.sum(axis=1, keepdims=True), 6)
    data = {
        "images": [
            {"id": i + 1, "width": 32, "height": 32, "file_name": f"c{i}.png"} for i in range(n)
        ],
        "categories": [{"id": c + 1, "name": f"class{c}"} for c in range(k)],
        "annotations": [
            {"image_id": i + 1, "category_id": int(truth[i]) + 1, "iscrowd": 0, "area": None}
            for i in range(n)
        ],
        "results": [
            {"image_id": i + 1, "category_id": c + 1, "score": float(scores[i, c])}
            for i in range(n)
            for c in range(k)
        ],
    }
    imported = import_set(alice, data)
    response = alice.http.post(
        "/evaluations",
        json={
            "dataset": imported.dataset_id,
            "gt": "gt",
            "pred": "pred",
            "iou_type": "classification",
        },
    )
    assert response.status_code == 202, response.text
    run_tasks()
    metrics = alice.http.get(f"/evaluations/{response.json()['id']}").json()["metrics"]

    predicted = scores.argmax(axis=1)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
    p, r, f, support = precision_recall_fscore_support(
        truth, predicted, labels=list(range(k)), zero_division=0
    )
    for c, row in enumerate(metrics["per_class"]):
        assert row["precision"] == pytest.approx(p[c], abs=1e-12)
        assert row["recall"] == pytest.approx(r[c], abs=1e-12)
        assert row["f1"] == pytest.approx(f[c], abs=1e-12)
        assert row["support"] == support[c]
    counts = np.array(metrics["confusion_matrix"]["counts"])
    assert (counts[:, :k] == confusion_matrix(truth, predicted, labels=list(range(k)))).all()
    assert counts[:, k].sum() == 0  # every image has a prediction
    for top in (3,):
        expected = top_k_accuracy_score(truth, scores, k=top, labels=list(range(k)))
        assert metrics["top_k_accuracy"][str(top)] == pytest.approx(expected, abs=1e-12)

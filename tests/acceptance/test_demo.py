"""`visionhub demo`: the product end to end on the embedded default, learning for real."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.process, pytest.mark.embedded_default]


def test_the_demo_learns_and_classifies_every_test_image_once(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VISIONHUB_") and k != "DJANGO_SETTINGS_MODULE"
    }
    result = subprocess.run(
        [sys.executable, "-m", "visionhub", "demo", "--home", str(home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"^accuracy: (0\.\d{3}|1\.000)$", result.stdout, re.MULTILINE)
    assert match, result.stdout[-3000:]
    assert float(match.group(1)) > 0.9
    assert "confusion matrix" in result.stdout
    assert "throughput:" in result.stdout

    # Read the demo's own database (a separate file; this process holds no lock on it).
    db = sqlite3.connect(home / "visionhub.sqlite3")
    try:
        test_images = db.execute(
            "SELECT COUNT(*) FROM datasets_image i JOIN datasets_dataset d ON d.id = i.dataset_id"
            " WHERE d.name = 'digits-test'"
        ).fetchone()[0]
        per_image = db.execute(
            "SELECT r.image_id, COUNT(res.id) FROM inference_classificationrequest r"
            " LEFT JOIN inference_classificationresult res"
            "   ON res.request_id = r.id AND res.accepted"
            " GROUP BY r.image_id"
        ).fetchall()
        relabeled = db.execute(
            "SELECT COUNT(*) FROM datasets_annotation a"
            " JOIN datasets_labelset l ON l.id = a.label_set_id"
            " WHERE l.name = 'relabeled' AND l.kind = 'User'"
        ).fetchone()[0]
        predictions = db.execute(
            "SELECT COUNT(*) FROM datasets_annotation a"
            " JOIN datasets_labelset l ON l.id = a.label_set_id"
            " WHERE l.name = 'pred' AND l.kind = 'Pred'"
        ).fetchone()[0]
        evaluations = db.execute(
            "SELECT status, metrics FROM evaluation_evaluation WHERE iou_type = 'classification'"
        ).fetchall()
    finally:
        db.close()
    # The accuracy line and the confusion matrix are the server's evaluation of the predictions.
    assert len(evaluations) == 1 and evaluations[0][0] == "done"
    evaluated = json.loads(evaluations[0][1])
    assert f"{evaluated['accuracy']:.3f}" == match.group(1)
    assert sum(map(sum, evaluated["confusion_matrix"]["counts"])) == 449
    assert test_images == 449
    assert len(per_image) == test_images
    assert all(count == 1 for _, count in per_image)
    assert predictions == test_images
    # The digits the model got wrong were labeled, reviewed and exported by two users.
    mistakes = re.search(r"^labeling: (\d+) digits relabeled", result.stdout, re.MULTILINE)
    assert mistakes, result.stdout[-3000:]
    assert relabeled == int(mistakes.group(1)) > 0

"""Evaluations through the API: pycocotools' stats from the database, seed 004's fields
written back and served, the errors browsed by count, bad input refused, strangers kept out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.conftest import Person
from tests.evaluation.conftest import Imported, import_set
from tests.evaluation.oracle import coco_eval
from tests.evaluation.reference import seed_fields
from tests.evaluation.synthetic import generate
from tests.helpers import assert_error
from tests.tasks_support import RunTasks


def evaluate(
    person: Person, imported: Imported, run_tasks: RunTasks, **body: Any
) -> dict[str, Any]:
    response = person.http.post(
        "/evaluations",
        json={"dataset": imported.dataset_id, "gt": imported.gt, "pred": imported.pred, **body},
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    run_tasks()
    state = person.http.get(f"/evaluations/{accepted['id']}").json()
    assert state["status"] == "done", state
    return state  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def boxes(alice: Person) -> tuple[dict[str, Any], Imported]:
    data = generate(11, images=30)
    return data, import_set(alice, data)


@pytest.fixture(scope="module")
def box_evaluation(
    alice: Person, boxes: tuple[dict[str, Any], Imported], run_tasks: RunTasks
) -> dict[str, Any]:
    return evaluate(alice, boxes[1], run_tasks, iou_type="bbox")


def test_a_box_evaluation_gives_pycocotools_stats(
    box_evaluation: dict[str, Any], boxes: tuple[dict[str, Any], Imported]
) -> None:
    data, _ = boxes
    oracle = coco_eval(data, "bbox")
    metrics = box_evaluation["metrics"]
    assert box_evaluation["progress"] == 1.0
    assert len(metrics["stats_list"]) == 12
    assert np.abs(np.array(metrics["stats_list"]) - oracle.stats).max() <= 1e-12
    assert metrics["stats"]["AP50"] == metrics["stats_list"][1]
    assert (
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"
        in metrics["summary"]
    )
    # Per category: AP as pycocotools' precision table gives it; the no-GT category has none.
    precision = oracle.eval["precision"][:, :, :, 0, -1]
    for k, row in enumerate(metrics["per_category"]):
        cell = precision[:, :, k]
        expected = float(np.mean(cell[cell > -1])) if (cell > -1).any() else None
        assert (
            row["ap"] == pytest.approx(expected, abs=1e-12)
            if expected is not None
            else row["ap"] is None
        )
    curve = metrics["curves"]["per_category"][0]["precision_at_50"]
    assert len(curve) == len(metrics["curves"]["recall"]) == 101
    confusion = metrics["confusion_matrix"]
    assert len(confusion["counts"]) == len(data["categories"]) + 1
    assert confusion["labels"][-1] == "background"
    counted_gt = sum(sum(row) for row in confusion["counts"][:-1])
    assert counted_gt == sum(1 for g in data["annotations"] if not g["iscrowd"])


def test_seed_004_fields_are_written_back(
    alice: Person, box_evaluation: dict[str, Any], boxes: tuple[dict[str, Any], Imported]
) -> None:
    data, imported = boxes
    expected = seed_fields(data)
    levels = {
        round(p["precision"] * 100): p for p in box_evaluation["metrics"]["compare_precisions"]
    }
    for level, threshold in expected["levels"].items():
        assert levels[level]["threshold"] == threshold
        assert levels[level]["reached"] == (threshold is not None)
    assert any(t is not None for t in expected["levels"].values())
    label_sets = alice.http.get(f"/datasets/{imported.dataset_id}/label-sets").json()["items"]
    pred = next(s for s in label_sets if s["name"] == "pred")
    assert pred["compare_precisions"] == box_evaluation["metrics"]["compare_precisions"]

    annotations = {
        a["id"]: a for a in alice.client.iter_annotations(imported.dataset_id, pred["id"])
    }
    for i, ann_id in enumerate(imported.dt_ids):
        got = annotations[ann_id]
        assert got["compare_result"] == expected["dt_codes"][i], i
        j = expected["matched"][i]
        assert got["matched_gt_id"] == (imported.gt_ids[j] if j is not None else None)
    gt_set = next(s for s in label_sets if s["name"] == "gt")
    gts = {a["id"]: a for a in alice.client.iter_annotations(imported.dataset_id, gt_set["id"])}
    for j, ann_id in enumerate(imported.gt_ids):
        assert gts[ann_id]["compare_result"] == expected["gt_codes"][j]

    key = str(pred["id"])
    for file_id, image_id in imported.images.items():
        image = alice.http.get(f"/images/{image_id}").json()
        want = expected["counts"].get(file_id, {"fp": {}, "fn": {}})
        if key not in image["compare_counts"]:  # only an image with nothing to compare
            assert file_id not in {r["image_id"] for r in data["annotations"] + data["results"]}
            continue
        got = image["compare_counts"][key]
        assert got["evaluation"] == box_evaluation["id"]
        reached = [str(lv) for lv, t in expected["levels"].items() if t is not None]
        assert got["num_fp"] == {lv: want["fp"].get(lv, 0) for lv in reached}
        assert got["num_fn"] == {lv: want["fn"].get(lv, 0) for lv in reached}


def test_comparisons_page_through_images_by_error_count(
    alice: Person, box_evaluation: dict[str, Any], boxes: tuple[dict[str, Any], Imported]
) -> None:
    data, imported = boxes
    expected = seed_fields(data)
    level = next(
        lv for lv in (50, 40, 60, 30, 70, 20, 80, 10, 90) if expected["levels"][lv] is not None
    )
    by_vh = {v: k for k, v in imported.images.items()}
    for order in ("fp", "fn"):
        seen: list[tuple[int, int]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {
                "evaluation": box_evaluation["id"],
                "precision": level / 100,
                "order_by": order,
                "limit": 4,
            }
            if cursor:
                params["cursor"] = cursor
            page = alice.http.get(
                f"/datasets/{imported.dataset_id}/comparisons", params=params
            ).json()
            seen += [(row[f"num_{order}"], row["image_id"]) for row in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == sorted(seen, reverse=True)
        for count, image_id in seen:
            want = expected["counts"].get(by_vh[image_id], {"fp": {}, "fn": {}})
            assert count == want[order].get(str(level), 0)
        assert {by_vh[i] for _, i in seen} >= set(expected["counts"])


def test_the_client_and_a_category_filter(
    alice: Person, box_evaluation: dict[str, Any], boxes: tuple[dict[str, Any], Imported]
) -> None:
    _, imported = boxes
    reached = [
        p["precision"] for p in box_evaluation["metrics"]["compare_precisions"] if p["reached"]
    ]
    cat = next(iter(imported.categories.values()))
    rows = list(
        alice.client.evaluations.comparisons(
            imported.dataset_id,
            box_evaluation["id"],
            precision=reached[0],
            order_by="fn",
            category=cat,
        )
    )
    assert all(r["num_fn"] + r["num_fp"] > 0 for r in rows)
    listed = list(alice.client.evaluations.list(imported.dataset_id))
    assert box_evaluation["id"] in [e["id"] for e in listed]
    assert "metrics" not in listed[0]


@pytest.mark.parametrize("kind", ["segm", "keypoints"])
def test_masks_and_keypoints_give_pycocotools_stats(
    alice: Person, run_tasks: RunTasks, kind: str
) -> None:
    data = generate({"segm": 12, "keypoints": 13}[kind], images=20, kind=kind)
    imported = import_set(alice, data)
    state = evaluate(alice, imported, run_tasks, iou_type=kind)
    oracle = coco_eval(data, kind)
    stats = state["metrics"]["stats_list"]
    assert len(stats) == (10 if kind == "keypoints" else 12)
    assert np.abs(np.array(stats) - oracle.stats).max() <= 1e-12


def test_the_gallery_filters_images_with_fp_or_fn_at_a_precision(
    alice: Person, box_evaluation: dict[str, Any], boxes: tuple[dict[str, Any], Imported]
) -> None:
    data, imported = boxes
    expected = seed_fields(data)
    level = next(
        lv for lv in (50, 40, 60, 30, 70, 20, 80, 10, 90) if expected["levels"][lv] is not None
    )
    url = f"/datasets/{imported.dataset_id}/images"
    for kind in ("fp", "fn"):
        params = {"errors": kind, "evaluation": box_evaluation["id"], "precision": level / 100}
        got = {
            img["id"]
            for img in alice.http.get(url, params={**params, "limit": 1000}).json()["items"]
        }
        want = {
            imported.images[file_id]
            for file_id, counts in expected["counts"].items()
            if counts[kind].get(str(level), 0) > 0
        }
        assert got == want and want
    assert_error(alice.http.get(url, params={"errors": "fp"}), 422, "invalid_filter")

"""The output contract of detection and segmentation models, and the letterbox input."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Person
from tests.helpers import assert_error, unique
from tests.registry.support import create_model

INPUT = {"width": 64, "height": 48}


def create(person: Person, task: str, output: dict[str, Any] | None, **extra: Any) -> Any:
    body: dict[str, Any] = {
        "name": unique("det"),
        "task": task,
        "classes": ["cat", "dog"],
        "input": {**INPUT, **extra},
    }
    if output is not None:
        body["output"] = output
    return person.http.post("/models", json=body)


def test_a_detection_model_gets_the_complete_default_contract(alice: Person) -> None:
    response = create(alice, "detection", None)
    assert response.status_code == 201, response.text
    assert response.json()["output"] == {
        "format": "boxes",
        "box_format": "xyxy",
        "normalized": False,
        "nms": True,
        "score_threshold": 0.25,
        "iou_threshold": 0.45,
        "max_detections": 100,
        "boxes": "boxes",
        "scores": "scores",
        "labels": "labels",
        "label_offset": 0,
    }


def test_a_raw_yolo_contract_defaults_to_nms_by_the_worker(alice: Person) -> None:
    response = create(alice, "detection", {"format": "raw", "layout": "A,5+C"})
    assert response.status_code == 201, response.text
    output = response.json()["output"]
    assert output["nms"] is False
    assert output["box_format"] == "cxcywh"
    assert (output["tensor"], output["layout"]) == (None, "A,5+C")


def test_a_segmentation_model_names_its_masks(alice: Person) -> None:
    response = create(alice, "segmentation", {"masks": "instance_masks", "mask_threshold": 0.4})
    assert response.status_code == 201, response.text
    output = response.json()["output"]
    assert (output["masks"], output["mask_threshold"]) == ("instance_masks", 0.4)


def test_a_yolo_style_segmentation_model_names_its_prototypes(alice: Person) -> None:
    response = create(alice, "segmentation", {"format": "raw"})
    assert response.status_code == 201, response.text
    output = response.json()["output"]
    assert (output["protos"], output["mask_threshold"]) == ("protos", 0.5)
    assert "masks" not in output


def test_letterbox_input_with_its_padding_colour(alice: Person) -> None:
    response = create(alice, "detection", None, resize="letterbox", pad=[0, 0, 0])
    assert response.status_code == 201, response.text
    assert response.json()["input"]["resize"] == "letterbox"
    assert response.json()["input"]["pad"] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("task", "output"),
    [
        ("classification", {"format": "boxes"}),
        ("detection", {"format": "yolo"}),
        ("detection", {"box_format": "polar"}),
        ("detection", {"score_threshold": 2}),
        ("detection", {"max_detections": 0}),
        ("detection", {"format": "raw", "layout": "C,A"}),
        ("detection", {"format": "raw", "boxes": "b"}),
        ("detection", {"masks": "m"}),
        ("detection", {"anchors": 3}),
        ("segmentation", {"format": "raw", "masks": "m"}),
        ("segmentation", {"format": "boxes", "protos": "p"}),
        ("detection", {"format": "raw", "protos": "p"}),
    ],
)
def test_a_bad_contract_is_refused(alice: Person, task: str, output: dict[str, Any]) -> None:
    assert_error(create(alice, task, output), 422, "invalid_output_spec")


def test_a_bad_resize_or_pad_is_refused(alice: Person) -> None:
    assert_error(create(alice, "detection", None, resize="crop"), 422, "invalid_input_spec")
    assert_error(create(alice, "detection", None, pad=[300, 0, 0]), 422, "invalid_input_spec")


def test_the_contract_is_edited_by_merging(alice: Person) -> None:
    name = create(alice, "detection", None).json()["name"]
    response = alice.http.patch(f"/models/{name}", json={"output": {"score_threshold": 0.5}})
    assert response.status_code == 200, response.text
    assert response.json()["output"]["score_threshold"] == 0.5
    assert response.json()["output"]["format"] == "boxes"
    response = alice.http.patch(f"/models/{name}", json={"task": "classification"})
    assert response.status_code == 200, response.text
    assert response.json()["output"] == {}


def test_a_deployment_carries_its_geometric_quorum_thresholds(alice: Person) -> None:
    model = create_model(alice)
    version = alice.http.post(
        f"/models/{model}/versions",
        files={"files": ("model.onnx", b"onnx", "application/octet-stream")},
    )
    assert version.status_code == 201, version.text
    body = {"name": unique("dep"), "model": model, "version": 1}
    response = alice.http.post("/deployments", json={**body, "match_iou": 0.8})
    assert response.status_code == 201, response.text
    assert (response.json()["match_iou"], response.json()["score_tolerance"]) == (0.8, 0.05)
    name = response.json()["name"]
    patched = alice.http.patch(f"/deployments/{name}", json={"score_tolerance": 0.1})
    assert patched.json()["score_tolerance"] == 0.1
    refused = alice.http.patch(f"/deployments/{name}", json={"match_iou": 0})
    assert_error(refused, 422, "invalid_match_iou")

"""Detection and segmentation models on the worker: both output shapes, stretch and letterbox,
boxes and masks in the original image's pixels, NMS per class, COCO RLE, broken contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper
from pycocotools import mask as coco_mask
from tests.worker.detectors import make_rectangle_detector, output_spec, rectangle_image

from visionhub.worker import postprocess
from visionhub.worker.decode import prepare
from visionhub.worker.detector import DetectorRuntime
from visionhub.worker.protocol import InputSpec, OutputSpec
from visionhub.worker.runtime import Broken, Detections, ModelError

W, H = 32, 24
CLASSES = ("rect", "other")


def detector(
    tmp_path: Path, shape: str, *, resize: str = "stretch", segmentation: bool = False
) -> DetectorRuntime:
    path = tmp_path / "model.onnx"
    path.write_bytes(make_rectangle_detector(W, H, shape=shape, masks=segmentation))
    spec = InputSpec.from_json({"width": W, "height": H, "resize": resize, "pad": [0, 0, 0]})
    task = "segmentation" if segmentation else "detection"
    contract = output_spec(shape, segmentation=segmentation)
    return DetectorRuntime(path, spec, OutputSpec.from_json(contract, task), CLASSES)


def detect(runtime: DetectorRuntime, *images: bytes) -> list[Any]:
    prepared = [prepare(data, runtime.spec) for data in images]
    answers = runtime.answer([t for t, _ in prepared], [g for _, g in prepared])
    return [a.items if isinstance(a, Detections) else a for a in answers]


SHAPES = ["boxes", "boxes-unbatched", "raw", "raw-objectness"]


@pytest.mark.parametrize("resize", ["stretch", "letterbox"])
@pytest.mark.parametrize("shape", SHAPES)
def test_it_finds_the_rectangle_in_original_image_pixels(
    tmp_path: Path, shape: str, resize: str
) -> None:
    runtime = detector(tmp_path, shape, resize=resize)
    # 96x48 into 32x24: stretch scales x by 1/3 and y by 1/2; letterbox by 1/3 with 4 px pads.
    truth = (30, 12, 36, 24)
    images = [rectangle_image(96, 48, truth), rectangle_image(96, 48, (0, 0, 0, 0))]
    found, empty = detect(runtime, *images)
    assert empty == []
    best = found[0]
    assert best["label"] == "rect"
    assert best["score"] == pytest.approx(0.9)
    # One input pixel is 3 original pixels across (2 down when stretched).
    assert best["box"] == pytest.approx(list(truth), abs=3.0)


def test_a_raw_model_gets_nms_per_class(tmp_path: Path) -> None:
    runtime = detector(tmp_path, "raw")
    (found,) = detect(runtime, rectangle_image(64, 48, (8, 8, 32, 24)))
    # The shifted class-0 copy is suppressed; the class-1 box on the same spot stays.
    assert [(d["label"], d["score"]) for d in found] == [("rect", 0.9), ("other", 0.5)]
    assert found[0]["box"] == pytest.approx(found[1]["box"])


def test_a_torchvision_style_model_keeps_its_own_nms(tmp_path: Path) -> None:
    runtime = detector(tmp_path, "boxes")
    assert runtime.output.nms is True
    assert runtime.batched
    (found,) = detect(runtime, rectangle_image(64, 48, (8, 8, 32, 24)))
    assert [d["label"] for d in found] == ["rect"]


@pytest.mark.parametrize("shape", ["boxes", "boxes-unbatched"])
def test_segmentation_masks_are_pasted_into_their_box_as_coco_rle(
    tmp_path: Path, shape: str
) -> None:
    runtime = detector(tmp_path, shape, segmentation=True)
    (found,) = detect(runtime, rectangle_image(64, 48, (8, 8, 32, 24)))
    rle = found[0]["mask"]
    assert rle["size"] == [48, 64]
    mask = postprocess.rle_decode(rle)
    assert (
        coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()
        == (rle["counts"])
    )
    # The model's mask covers the left half of its box.
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min(), ys.max()) == (8, 8, 31)
    assert xs.max() == pytest.approx(8 + 16, abs=2)


@pytest.mark.parametrize("resize", ["stretch", "letterbox"])
@pytest.mark.parametrize("shape", ["raw", "raw-objectness"])
def test_yolo_style_masks_are_assembled_from_prototypes_and_cropped_to_the_box(
    tmp_path: Path, shape: str, resize: str
) -> None:
    runtime = detector(tmp_path, shape, resize=resize, segmentation=True)
    (found,) = detect(runtime, rectangle_image(96, 48, (30, 12, 36, 24)))
    assert [d["label"] for d in found] == ["rect", "other"]
    for d in found:
        mask = postprocess.rle_decode(d["mask"])
        assert mask.shape == (48, 96)
        x, y, w, h = (round(v) for v in d["box"])
        assert mask[y + 1 : y + h - 1, x + 1 : x + w - 1].all()  # the prototypes cover it all
        outside = mask.copy()
        outside[y : y + h + 1, x : x + w + 1] = False
        assert not outside.any()  # and the box crops them


def test_rle_matches_pycocotools() -> None:
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (5, 7), (40, 33), (64, 64)]:
        for density in (0.0, 0.1, 0.5, 0.97, 1.0):
            mask = rng.random(shape) < density
            ours = postprocess.rle_encode(mask)
            theirs = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
            assert ours["counts"] == theirs["counts"].decode()
            assert ours["size"] == list(theirs["size"])
            assert np.array_equal(postprocess.rle_decode(ours), mask)


def reference_nms(
    boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou: float
) -> list[int]:
    """Greedy NMS per class, box by box (the slow, obvious way)."""
    keep: list[int] = []
    for i in sorted(range(len(scores)), key=lambda k: (-scores[k], k)):
        if all(
            labels[j] != labels[i] or postprocess.box_iou(boxes[[i]], boxes[[j]])[0, 0] <= iou
            for j in keep
        ):
            keep.append(i)
    return keep


def test_nms_equals_the_greedy_reference() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(1, 200))
        xy = rng.uniform(0, 100, size=(n, 2)).astype(np.float32)
        wh = rng.uniform(5, 40, size=(n, 2)).astype(np.float32)
        boxes = np.concatenate([xy, xy + wh], axis=1)
        scores = rng.random(n).astype(np.float32)
        labels = rng.integers(0, 3, size=n)
        kept = postprocess.nms(boxes, scores, labels, iou_threshold=0.45, max_detections=10_000)
        assert kept.tolist() == reference_nms(boxes, scores, labels, 0.45)


def test_nms_stops_at_max_detections() -> None:
    boxes = np.array([[i * 10, 0, i * 10 + 5, 5] for i in range(50)], dtype=np.float32)
    kept = postprocess.nms(
        boxes,
        np.linspace(1, 0.5, 50, dtype=np.float32),
        np.zeros(50, np.int64),
        iou_threshold=0.5,
        max_detections=7,
    )
    assert kept.tolist() == list(range(7))


def constant_detector(
    tmp_path: Path, boxes: list[list[float]], scores: list[float]
) -> DetectorRuntime:
    """A model that answers the given boxes, scores and label 0 whatever the image."""
    n = helper.make_node
    count = len(scores)
    graph = helper.make_graph(
        [
            n("ReduceMax", ["input"], ["m"], axes=[1, 2, 3], keepdims=0),
            n("Mul", ["m", "zero"], ["nil"]),
            n("Reshape", ["nil", "shape3"], ["nil3"]),
            n("Add", ["nil3", "b"], ["boxes"]),
            n("Reshape", ["nil", "shape2"], ["nil2"]),
            n("Add", ["nil2", "s"], ["scores"]),
            n("Cast", ["nil2"], ["nil_i"], to=TensorProto.INT64),
            n("Add", ["nil_i", "l"], ["labels"]),
        ],
        "constant",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, H, W])],
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["N", count, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", count]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, ["N", count]),
        ],
        initializer=[
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("shape3", TensorProto.INT64, [3], [-1, 1, 1]),
            helper.make_tensor("shape2", TensorProto.INT64, [2], [-1, 1]),
            helper.make_tensor("b", TensorProto.FLOAT, [count, 4], np.ravel(boxes).tolist()),
            helper.make_tensor("s", TensorProto.FLOAT, [count], scores),
            helper.make_tensor("l", TensorProto.INT64, [count], [0] * count),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "constant.onnx"
    path.write_bytes(model.SerializeToString())
    spec = InputSpec.from_json({"width": W, "height": H})
    return DetectorRuntime(path, spec, OutputSpec.from_json({}, "detection"), CLASSES)


@pytest.mark.parametrize(
    ("boxes", "scores", "reason"),
    [
        ([[1, 1, 5, 5]], [float("nan")], "NaN"),
        ([[1, float("inf"), 5, 5]], [0.9], "NaN or infinite"),
        ([[10, 10, 5, 5]], [0.9], "inverted"),
        ([[40, 30, 50, 40]], [0.9], "outside"),
    ],
)
def test_an_output_that_breaks_the_contract_fails_that_image_only(
    tmp_path: Path, boxes: list[list[float]], scores: list[float], reason: str
) -> None:
    runtime = constant_detector(tmp_path, boxes, scores)
    (answer,) = detect(runtime, rectangle_image(W, H, (2, 2, 4, 4)))
    assert isinstance(answer, Broken)
    assert answer.error.startswith("invalid_output:")
    assert reason in answer.error


def test_boxes_that_overhang_the_image_are_clipped(tmp_path: Path) -> None:
    runtime = constant_detector(tmp_path, [[-3, 2, 10, 30]], [0.8])
    (found,) = detect(runtime, rectangle_image(W, H, (2, 2, 4, 4)))
    assert found[0]["box"] == pytest.approx([0, 2, 10, 22])


def test_low_scores_are_dropped_before_any_check(tmp_path: Path) -> None:
    runtime = constant_detector(tmp_path, [[10, 10, 5, 5], [1, 1, 4, 4]], [0.1, 0.7])
    (found,) = detect(runtime, rectangle_image(W, H, (2, 2, 4, 4)))
    assert [d["score"] for d in found] == [pytest.approx(0.7)]


def test_a_model_without_the_named_outputs_cannot_load(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(make_rectangle_detector(W, H, shape="raw"))
    spec = InputSpec.from_json({"width": W, "height": H})
    with pytest.raises(ModelError, match="no output boxes"):
        DetectorRuntime(path, spec, OutputSpec.from_json({}, "detection"), CLASSES)


def test_letterbox_pads_with_the_pad_colour() -> None:
    spec = InputSpec.from_json(
        {"width": 8, "height": 8, "resize": "letterbox", "pad": [10, 20, 30], "scale": 1.0}
    )
    tensor, geometry = prepare(rectangle_image(16, 8, (0, 0, 0, 0)), spec)
    assert (geometry.width, geometry.height, geometry.pad_x, geometry.pad_y) == (16, 8, 0, 2)
    assert geometry.scale_x == geometry.scale_y == 0.5
    assert tensor[:, 0, 0].tolist() == [10, 20, 30]  # the top band is padding
    assert tensor[:, 4, 4].tolist() == [20, 20, 20]  # the image itself

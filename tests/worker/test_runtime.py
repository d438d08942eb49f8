"""Softmax, and models run through onnxruntime in batches (with answers known in advance)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from tests.factories import make_brightness_classifier, make_image, make_onnx_linear

from visionhub.worker.decode import preprocess
from visionhub.worker.protocol import FileRef, InputSpec, ModelRef
from visionhub.worker.runtime import ModelError, ModelRuntime, softmax
from visionhub.worker.runtimes import RuntimeCache

W, H = 12, 10


def test_softmax_is_stable_for_huge_logits() -> None:
    p = softmax(np.array([[1000.0, 1001.0], [-1e4, -1e4], [0.0, 0.0]]))
    assert np.isfinite(p).all()
    assert p[0] == pytest.approx([1 / (1 + math.e), math.e / (1 + math.e)], rel=1e-6)
    assert p[1] == pytest.approx([0.5, 0.5])
    assert p.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])


def test_softmax_ignores_a_shift_of_every_logit() -> None:
    logits = np.random.default_rng(0).normal(size=(5, 7))
    assert softmax(logits) == pytest.approx(softmax(logits + 123.0), abs=1e-6)


def spec(channels: int, layout: str, output: str = "logits") -> InputSpec:
    return InputSpec.from_json(
        {"width": W, "height": H, "channels": channels, "layout": layout, "output": output}
    )


def model_file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    return path


def expected_bright(grey: int) -> float:
    """The brightness classifier's P(bright) for a uniform image of grey level ``grey``."""
    return 1 / (1 + math.exp(-8 * (grey / 255 - 0.5)))


@pytest.mark.parametrize("output", ["logits", "probabilities"])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC", "flat"])
@pytest.mark.parametrize("channels", [1, 3])
def test_a_batch_gets_the_models_known_answers(
    tmp_path: Path, channels: int, layout: str, output: str
) -> None:
    path = model_file(
        tmp_path, make_brightness_classifier(W, H, channels, layout=layout, output=output)
    )
    s = spec(channels, layout, output)
    runtime = ModelRuntime(path, s, ["dark", "bright"])
    greys = [0, 40, 100, 128, 160, 230, 255]
    tensors = [preprocess(make_image(30, 20, color=(g, g, g)), s) for g in greys]
    predictions = runtime.predict(tensors)
    assert [p.label for p in predictions] == ["dark"] * 3 + ["bright"] * 4
    for grey, prediction in zip(greys, predictions, strict=True):
        assert set(prediction.scores) == {"dark", "bright"}
        assert prediction.scores["bright"] == pytest.approx(expected_bright(grey), abs=1e-4)
        assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_one_batch_equals_one_image_at_a_time(tmp_path: Path) -> None:
    s = spec(3, "NCHW")
    runtime = ModelRuntime(model_file(tmp_path, make_brightness_classifier(W, H, 3)), s, ["d", "b"])
    tensors = [preprocess(make_image(16, 16, color=(g, 255 - g, g)), s) for g in range(0, 256, 15)]
    batched = runtime.run(np.stack(tensors))
    single = np.concatenate([runtime.run(t[None]) for t in tensors])
    assert batched == pytest.approx(single, abs=1e-6)


def with_fixed_batch(content: bytes, size: int) -> bytes:
    model = onnx.load_from_string(content)
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = size
    return bytes(model.SerializeToString())


@pytest.mark.parametrize("fixed", [1, 4])
def test_a_fixed_batch_dimension_runs_in_chunks_of_that_size(tmp_path: Path, fixed: int) -> None:
    s = spec(1, "NCHW")
    content = with_fixed_batch(make_brightness_classifier(W, H, 1), fixed)
    runtime = ModelRuntime(model_file(tmp_path, content), s, ["dark", "bright"])
    assert runtime.fixed_batch == fixed
    greys = [10, 250, 30, 220, 90, 140, 0]
    predictions = runtime.predict(
        [preprocess(make_image(8, 8, color=g, mode="L"), s) for g in greys]
    )
    assert [p.label for p in predictions] == ["dark", "bright"] * 2 + ["dark", "bright", "dark"]


def test_a_model_whose_input_does_not_fit_the_spec_is_refused(tmp_path: Path) -> None:
    path = model_file(tmp_path, make_brightness_classifier(W, H, 3))
    with pytest.raises(ModelError, match="does not match"):
        ModelRuntime(path, spec(1, "NCHW"), ["dark", "bright"])
    with pytest.raises(ModelError, match="rank"):
        ModelRuntime(path, spec(3, "flat"), ["dark", "bright"])


def test_a_model_with_more_outputs_than_classes_fails_to_predict(tmp_path: Path) -> None:
    content = make_onnx_linear(np.zeros((W * H, 3)), [0, 0, 0], input_shape=(W * H,))
    runtime = ModelRuntime(model_file(tmp_path, content), spec(1, "flat"), ["a", "b"])
    with pytest.raises(ModelError, match="3 outputs"):
        runtime.predict([np.zeros(W * H, dtype=np.float32)])


def test_a_file_that_is_not_onnx_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load"):
        ModelRuntime(model_file(tmp_path, b"not a model"), spec(1, "flat"), ["a"])


def test_the_runtime_cache_loads_each_version_once(tmp_path: Path) -> None:
    path = model_file(tmp_path, make_brightness_classifier(W, H, 1))
    files = (FileRef("model.onnx", "a" * 64, "http://x/model.onnx"),)
    model = ModelRef(1, spec(1, "NCHW"), ("dark", "bright"), files)
    cache = RuntimeCache(capacity=1)
    first = cache.get(model, path)
    assert cache.get(model, path) is first
    edited = ModelRef(1, spec(1, "NCHW", "probabilities"), ("dark", "bright"), files)
    assert cache.get(edited, path) is not first  # the definition's spec was edited
    assert cache.get(model, path) is not first  # capacity 1: the first one was evicted

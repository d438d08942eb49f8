"""Test data made by the tests: images with Pillow, ONNX models with onnx.helper."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image


def make_image(
    width: int = 64,
    height: int = 48,
    *,
    color: int | tuple[int, ...] = (200, 30, 30),
    mode: str = "RGB",
    format: str = "PNG",
) -> bytes:
    """An image of one colour, encoded in ``format`` (PNG, JPEG, ...)."""
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, format=format)
    return buffer.getvalue()


def make_png(width: int = 64, height: int = 48, **kwargs: object) -> bytes:
    return make_image(width, height, format="PNG", **kwargs)  # type: ignore[arg-type]


def make_noise_image(width: int, height: int, *, seed: int = 0, format: str = "PNG") -> bytes:
    """A random RGB image (distinct content, so a distinct sha256, for every seed)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format=format)
    return buffer.getvalue()


def make_onnx_linear(
    weights: np.ndarray,
    bias: Sequence[float],
    *,
    input_shape: Sequence[int],
    output: str = "logits",
) -> bytes:
    """A classifier ``softmax?(flatten(x) @ weights + bias)`` as ONNX bytes.

    ``input_shape`` excludes the batch dimension (for example ``(3, 8, 8)`` for NCHW or
    ``(64,)`` for flat input). ``weights`` has shape ``(prod(input_shape), n_classes)``. With
    ``output="probabilities"`` a Softmax node is appended.
    """
    features = int(np.prod(input_shape))
    weights = np.asarray(weights, dtype=np.float32)
    assert weights.shape[0] == features, (weights.shape, features)
    n_classes = weights.shape[1]
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "B"], ["logits" if output == "logits" else "raw"]),
    ]
    if output != "logits":
        nodes.append(helper.make_node("Softmax", ["raw"], ["logits"], axis=1))
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_classes])],
        initializer=[
            numpy_helper.from_array(weights, "W"),
            numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def make_brightness_classifier(
    width: int, height: int, channels: int = 1, *, layout: str = "NCHW", output: str = "logits"
) -> bytes:
    """Two classes, ``dark`` (0) and ``bright`` (1), decided by mean pixel value after scaling
    to [0, 1]: bright when the mean is above 0.5. Its true answer is known for any image."""
    shape = {
        "NCHW": (channels, height, width),
        "NHWC": (height, width, channels),
        "flat": (channels * height * width,),
    }[layout]
    n = channels * height * width
    weights = np.zeros((n, 2), dtype=np.float32)
    weights[:, 1] = 8.0 / n  # logit_bright - logit_dark = 8 * (mean - 0.5)
    return make_onnx_linear(weights, [0.0, -4.0], input_shape=shape, output=output)

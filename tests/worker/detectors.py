"""Detection and segmentation models built with onnx.helper, whose true answers are known.

Each finds the bright rectangle of an image (pixels above 0.5 after scaling, in any channel)
by thresholding: its box is the span of bright columns and rows, in input pixels. Images with
nothing bright give a score of 0 (no detection). The outputs come in the contract's shapes:

- ``boxes``: torchvision-style ``boxes [B, 1, 4]`` (xyxy), ``scores [B, 1]``, ``labels [B, 1]``
  after NMS, and for segmentation ``masks [B, 1, 1, 8, 8]`` whose left half is 1 (so the
  pasted mask covers the left half of the box);
- ``boxes-unbatched``: the same without the batch dimension (``[1, 4]``…), input batch 1;
- ``raw``: YOLO-style ``[B, 4 + C, A]`` before NMS: anchor 0 the rectangle (cx, cy, w, h) for
  class 0 at 0.9, anchor 1 the same shifted one pixel right at 0.6 (NMS drops it), anchor 2
  the rectangle for class 1 at 0.5 (another class: kept);
- ``raw-objectness``: the same as ``[B, A, 5 + C]`` with an objectness column;
- with ``masks``, the raw shapes are YOLOv8-seg's: each row ends with one mask coefficient (1)
  and ``protos [B, 1, H/4, W/4]`` are 10 everywhere, so each mask is its whole box.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

MASK_SIZE = 8


def _const(name: str, value: Any, dtype: Any = np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def make_rectangle_detector(
    width: int,
    height: int,
    *,
    shape: str = "boxes",
    masks: bool = False,
    label: int = 0,
    label_offset: int = 0,
) -> bytes:
    """The bright-rectangle detector for NCHW RGB input of ``width`` x ``height``."""
    n = helper.make_node
    nodes = [
        n("ReduceMax", ["input"], ["m"], axes=[1], keepdims=0),
        n("Greater", ["m", "half"], ["bright_b"]),
        n("Cast", ["bright_b"], ["bright"], to=TensorProto.FLOAT),
        n("ReduceMax", ["bright"], ["col"], axes=[1], keepdims=0),
        n("ReduceMax", ["bright"], ["row"], axes=[2], keepdims=0),
        n("ReduceMax", ["col"], ["any"], axes=[1], keepdims=1),
    ]
    for axis, line in (("x", "col"), ("y", "row")):
        nodes += [
            n("Mul", [line, f"{axis}s"], [f"{axis}_at"]),
            n("Sub", ["one", line], [f"{axis}_off"]),
            n("Mul", [f"{axis}_off", "big"], [f"{axis}_far"]),
            n("Add", [f"{axis}_at", f"{axis}_far"], [f"{axis}_lo_in"]),
            n("ReduceMin", [f"{axis}_lo_in"], [f"{axis}1"], axes=[1], keepdims=1),
            n("Mul", [line, f"{axis}s1"], [f"{axis}_hi_in"]),
            n("ReduceMax", [f"{axis}_hi_in"], [f"{axis}2"], axes=[1], keepdims=1),
        ]
    initializers = [
        _const("half", 0.5),
        _const("one", 1.0),
        _const("big", 1e6),
        _const("xs", np.arange(width)),
        _const("xs1", np.arange(width) + 1),
        _const("ys", np.arange(height)),
        _const("ys1", np.arange(height) + 1),
    ]
    outputs: list[onnx.ValueInfoProto] = []
    batch = 1 if shape == "boxes-unbatched" else "N"
    if shape.startswith("boxes"):
        lead = [] if shape == "boxes-unbatched" else ["N"]
        box_shape = [-1, 4] if shape == "boxes-unbatched" else [-1, 1, 4]
        one_shape = [-1] if shape == "boxes-unbatched" else [-1, 1]
        nodes += [
            n("Concat", ["x1", "y1", "x2", "y2"], ["box"], axis=1),
            n("Reshape", ["box", "box_shape"], ["boxes"]),
            n("Mul", ["any", "top"], ["score"]),
            n("Reshape", ["score", "one_shape"], ["scores"]),
            n("Mul", ["any", "zero"], ["nil"]),
            n("Add", ["nil", "label"], ["label_f"]),
            n("Reshape", ["label_f", "one_shape"], ["label_r"]),
            n("Cast", ["label_r"], ["labels"], to=TensorProto.INT64),
        ]
        initializers += [
            _const("box_shape", box_shape, np.int64),
            _const("one_shape", one_shape, np.int64),
            _const("top", 0.9),
            _const("zero", 0.0),
            _const("label", float(label + label_offset)),
        ]
        outputs += [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [*lead, 1, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [*lead, 1]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, [*lead, 1]),
        ]
        if masks:
            pattern = np.zeros((MASK_SIZE, MASK_SIZE), dtype=np.float32)
            pattern[:, : MASK_SIZE // 2] = 1.0
            mask_shape = [-1, 1, 1, MASK_SIZE, MASK_SIZE]
            if shape == "boxes-unbatched":
                mask_shape = [-1, 1, MASK_SIZE, MASK_SIZE]
            nodes += [
                n("Reshape", ["any", "any_shape"], ["any_r"]),
                n("Mul", ["any_r", "pattern"], ["mask_raw"]),
                n("Reshape", ["mask_raw", "mask_shape"], ["masks"]),
            ]
            initializers += [
                _const("any_shape", [-1, 1, 1], np.int64),
                _const("pattern", pattern[None]),
                _const("mask_shape", mask_shape, np.int64),
            ]
            outputs.append(
                helper.make_tensor_value_info(
                    "masks", TensorProto.FLOAT, [*lead, 1, 1, MASK_SIZE, MASK_SIZE]
                )
            )
    else:
        nodes += [
            n("Add", ["x1", "x2"], ["sx"]),
            n("Mul", ["sx", "halfc"], ["cx"]),
            n("Add", ["y1", "y2"], ["sy"]),
            n("Mul", ["sy", "halfc"], ["cy"]),
            n("Sub", ["x2", "x1"], ["w"]),
            n("Sub", ["y2", "y1"], ["h"]),
            n("Add", ["cx", "one"], ["cx_shift"]),
            n("Mul", ["any", "s9"], ["a9"]),
            n("Mul", ["any", "s6"], ["a6"]),
            n("Mul", ["any", "s5"], ["a5"]),
            n("Mul", ["any", "zeroc"], ["a0"]),
        ]
        initializers += [
            _const("halfc", 0.5),
            _const("s9", 0.9),
            _const("s6", 0.6),
            _const("s5", 0.5),
            _const("zeroc", 0.0),
        ]
        objectness = shape == "raw-objectness"
        extra_outputs: list[onnx.ValueInfoProto] = []
        rows = [
            ["cx", "cy", "w", "h", "a9", "a0"],
            ["cx_shift", "cy", "w", "h", "a6", "a0"],
            ["cx", "cy", "w", "h", "a0", "a5"],
        ]
        if objectness or masks:
            # Objectness (and the one mask coefficient) 1 for every anchor.
            nodes.append(n("Add", ["a0", "one"], ["a1"]))
        if objectness:
            rows = [[*r[:4], "a1", *r[4:]] for r in rows]
        if masks:
            rows = [[*r, "a1"] for r in rows]
            proto_h, proto_w = max(1, height // 4), max(1, width // 4)
            nodes += [
                n("Reshape", ["any", "proto_shape"], ["any_p"]),
                n("Mul", ["any_p", "zeroc"], ["nil_p"]),
                n("Add", ["nil_p", "proto"], ["protos"]),
            ]
            initializers += [
                _const("proto_shape", [-1, 1, 1, 1], np.int64),
                _const("proto", np.full((1, 1, proto_h, proto_w), 10.0)),
            ]
            extra_outputs.append(
                helper.make_tensor_value_info(
                    "protos", TensorProto.FLOAT, ["N", 1, proto_h, proto_w]
                )
            )
        width_row = len(rows[0])
        for i, row in enumerate(rows):
            nodes += [
                n("Concat", row, [f"anchor{i}"], axis=1),
                n("Reshape", [f"anchor{i}", "anchor_shape"], [f"anchor{i}_r"]),
            ]
        axis = 1 if objectness else 2
        anchor_shape = [-1, 1, width_row] if objectness else [-1, width_row, 1]
        initializers.append(_const("anchor_shape", anchor_shape, np.int64))
        nodes.append(n("Concat", [f"anchor{i}_r" for i in range(3)], ["output0"], axis=axis))
        dims = ["N", 3, width_row] if objectness else ["N", width_row, 3]
        outputs.append(helper.make_tensor_value_info("output0", TensorProto.FLOAT, dims))
        outputs += extra_outputs  # after output0: the first output is the raw tensor
    graph = helper.make_graph(
        nodes,
        "rectangles",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, height, width])],
        outputs,
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def output_spec(shape: str, *, segmentation: bool = False) -> dict[str, Any]:
    """The output contract of ``make_rectangle_detector(shape=..., masks=segmentation)``."""
    if shape.startswith("boxes"):
        return {
            "format": "boxes",
            "box_format": "xyxy",
            **({"masks": "masks"} if segmentation else {}),
        }
    layout = "A,5+C" if shape == "raw-objectness" else "4+C,A"
    spec = {"format": "raw", "layout": layout, "box_format": "cxcywh", "iou_threshold": 0.5}
    return {**spec, "protos": "protos"} if segmentation else spec


def rectangle_image(
    width: int, height: int, box: tuple[int, int, int, int], *, fmt: str = "PNG"
) -> bytes:
    """A dark image with one white rectangle at ``box`` (x, y, w, h in pixels)."""
    pixels = np.full((height, width, 3), 20, dtype=np.uint8)
    x, y, w, h = box
    pixels[y : y + h, x : x + w] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format=fmt)
    return buffer.getvalue()

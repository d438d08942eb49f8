"""ONNX models on onnxruntime: one session per model version, images run as batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from visionhub.worker.decode import Geometry
from visionhub.worker.protocol import Detected, Failure, InputSpec, Lease, Success

FloatArray = npt.NDArray[np.float32]


class ModelError(RuntimeError):
    """The model cannot be loaded or run with its input spec (every job of it fails)."""


def softmax(logits: npt.NDArray[Any], axis: int = -1) -> FloatArray:
    """Numerically stable softmax: the maximum is subtracted before ``exp``."""
    x: npt.NDArray[np.float64] = np.asarray(logits, dtype=np.float64)
    x = x - np.max(x, axis=axis, keepdims=True)
    np.exp(x, out=x)
    x /= np.sum(x, axis=axis, keepdims=True)
    return x.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    scores: dict[str, float]

    def result(self, lease: Lease) -> Success:
        return Success(lease, self.label, self.scores)


@dataclass(frozen=True, slots=True)
class Broken:
    """One image's output broke the model's contract: that request's error."""

    error: str

    def result(self, lease: Lease) -> Failure:
        return Failure(lease, self.error)


@dataclass(frozen=True, slots=True)
class Detections:
    """One image's detections as sent: ``[{label, score, box, mask?}]``, original pixels."""

    items: list[dict[str, Any]]

    def result(self, lease: Lease) -> Detected:
        return Detected(lease, self.items)


Answer = Prediction | Broken | Detections


def open_session(path: Path, spec: InputSpec, intra_op_threads: int) -> ort.InferenceSession:
    """An onnxruntime CPU session of the model at ``path``, its single float input checked
    against ``spec``; raises ``ModelError``."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads  # 0 = onnxruntime's choice (all cores)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Idle intra-op threads would otherwise spin, taking the cores the decoding threads need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load the ONNX model: {exc}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelError(f"the model must have exactly one input, it has {len(inputs)}")
    if inputs[0].type not in ("tensor(float)", "tensor(float16)"):
        raise ModelError(f"the model's input must be a float tensor, not {inputs[0].type}")
    shape = list(inputs[0].shape)
    expected = spec.tensor_shape
    if len(shape) != len(expected) + 1:
        raise ModelError(
            f"the model's input has rank {len(shape)}, the input spec ({spec.layout}) "
            f"implies {len(expected) + 1}"
        )
    for got, want in zip(shape[1:], expected, strict=True):
        if isinstance(got, int) and got > 0 and got != want:
            raise ModelError(
                f"the model's input shape {shape} does not match the input spec {['N', *expected]}"
            )
    return session


def fixed_batch_of(session: ort.InferenceSession) -> int | None:
    """The input's batch size when the model fixes it to a number (often 1), else None."""
    first = session.get_inputs()[0].shape[0]
    return first if isinstance(first, int) and first > 0 else None


class ModelRuntime:
    """One loaded classifier version. ``predict`` is safe to call from several threads."""

    def __init__(
        self,
        path: Path,
        spec: InputSpec,
        classes: Sequence[str],
        *,
        intra_op_threads: int = 0,
        max_batch: int = 64,
    ) -> None:
        self.spec = spec
        self.classes = tuple(classes)
        self.max_batch = max(1, max_batch)
        self.session = open_session(path, spec, intra_op_threads)
        inputs = self.session.get_inputs()
        self.input_name: str = inputs[0].name
        self.output_name: str = self.session.get_outputs()[0].name
        self.input_dtype = np.float16 if inputs[0].type == "tensor(float16)" else np.float32
        # A batch dimension fixed to a number means chunks of exactly that size.
        self.fixed_batch: int | None = fixed_batch_of(self.session)

    def run(self, batch: FloatArray) -> FloatArray:
        """The class probabilities (N, classes) of a stacked batch of input tensors."""
        n = batch.shape[0]
        step = self.fixed_batch or self.max_batch
        parts = []
        for start in range(0, n, step):
            chunk = batch[start : start + step]
            real = chunk.shape[0]
            if self.fixed_batch and real < self.fixed_batch:
                padding = np.zeros((self.fixed_batch - real, *chunk.shape[1:]), dtype=chunk.dtype)
                chunk = np.concatenate([chunk, padding])
            parts.append(self._run_chunk(chunk)[:real])
        return np.concatenate(parts) if parts else np.zeros((0, len(self.classes)), np.float32)

    def _run_chunk(self, chunk: FloatArray) -> FloatArray:
        try:
            (out,) = self.session.run(
                [self.output_name], {self.input_name: chunk.astype(self.input_dtype, copy=False)}
            )
        except Exception as exc:
            raise ModelError(f"onnxruntime failed: {exc}") from None
        out = np.asarray(out, dtype=np.float32).reshape(chunk.shape[0], -1)
        if out.shape[1] != len(self.classes):
            raise ModelError(
                f"the model gives {out.shape[1]} outputs per image, the model has "
                f"{len(self.classes)} classes"
            )
        if self.spec.output == "logits":
            return softmax(out)
        return out

    def predict(self, tensors: Sequence[FloatArray]) -> list[Prediction]:
        """Run ``tensors`` (one per image) as one batch; a label and every class's score each."""
        if not tensors:
            return []
        probabilities = self.run(np.stack(tensors))
        best = probabilities.argmax(axis=1)
        return [
            Prediction(
                label=self.classes[int(i)],
                scores={c: float(p) for c, p in zip(self.classes, row, strict=True)},
            )
            for i, row in zip(best, probabilities, strict=True)
        ]

    def answer(
        self, tensors: Sequence[FloatArray], geometries: Sequence[Geometry]
    ) -> Sequence[Prediction | Broken]:
        """What the worker sends for each image (``geometries`` matter to detectors only)."""
        return self.predict(tensors)


class Runtime(Protocol):
    """What the worker loop needs of a loaded model."""

    def answer(
        self, tensors: Sequence[FloatArray], geometries: Sequence[Geometry]
    ) -> Sequence[Answer]: ...

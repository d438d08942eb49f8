"""Detection and segmentation models on onnxruntime, in both output shapes of the contract.

``format: boxes`` models (torchvision-style) give ``boxes``, ``scores`` and ``labels`` (and
``masks``) outputs: with a leading batch dimension the worker runs its batches through them,
without one (``[N, 4]``) one image per run. ``format: raw`` models (YOLO-style) give one
``[B, 4 + C, A]`` or ``[B, A, 5 + C]`` tensor, decoded and NMS'd here; for segmentation its
rows end with mask coefficients for the ``[B, M, h, w]`` prototypes of a ``protos`` output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from visionhub.worker import postprocess
from visionhub.worker.decode import Geometry
from visionhub.worker.protocol import InputSpec, OutputSpec
from visionhub.worker.runtime import (
    Answer,
    Broken,
    Detections,
    FloatArray,
    ModelError,
    fixed_batch_of,
    open_session,
)


class DetectorRuntime:
    """One loaded detection or segmentation model version (thread-safe ``answer``)."""

    def __init__(
        self,
        path: Path,
        spec: InputSpec,
        output: OutputSpec,
        classes: Sequence[str],
        *,
        intra_op_threads: int = 0,
        max_batch: int = 16,
    ) -> None:
        self.spec = spec
        self.output = output
        self.classes = tuple(classes)
        self.session = open_session(path, spec, intra_op_threads)
        first = self.session.get_inputs()[0]
        self.input_name: str = first.name
        self.input_dtype = np.float16 if first.type == "tensor(float16)" else np.float32
        shapes = {o.name: list(o.shape) for o in self.session.get_outputs()}
        if output.format == "boxes":
            self.names = [output.boxes, output.scores, output.labels]
            if output.masks is not None:
                self.names.append(output.masks)
            leading_rank = 2  # of the boxes output, without a batch dimension
        else:
            self.names = [output.tensor or self.session.get_outputs()[0].name]
            if output.protos is not None:
                self.names.append(output.protos)
            leading_rank = 2
        missing = [name for name in self.names if name not in shapes]
        if missing:
            raise ModelError(
                f"the model has no output {', '.join(missing)} (it has {', '.join(shapes)})"
            )
        rank = len(shapes[self.names[0]])
        if rank not in (leading_rank, leading_rank + 1):
            raise ModelError(
                f"output {self.names[0]} has rank {rank}; the contract wants {leading_rank} "
                f"or {leading_rank + 1} (with a batch dimension)"
            )
        self.batched = rank == leading_rank + 1
        fixed = fixed_batch_of(self.session)
        if not self.batched and fixed not in (None, 1):
            raise ModelError("outputs without a batch dimension need an input batch of 1")
        self.fixed_batch = fixed
        self.step = (fixed or max(1, max_batch)) if self.batched else 1

    def answer(self, tensors: Sequence[FloatArray], geometries: Sequence[Geometry]) -> list[Answer]:
        """Each image's detections (or the reason its output breaks the contract)."""
        answers: list[Answer] = []
        for start in range(0, len(tensors), self.step):
            chunk = np.stack(tensors[start : start + self.step])
            real = chunk.shape[0]
            if self.fixed_batch and real < self.fixed_batch:
                padding = np.zeros((self.fixed_batch - real, *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, padding])
            outputs = self._run(chunk)
            for i in range(real):
                try:
                    per_image = [out[i] for out in outputs] if self.batched else outputs
                    found = self._postprocess(per_image, geometries[start + i])
                except (postprocess.ContractError, IndexError) as exc:
                    answers.append(Broken(f"invalid_output: {exc}"))
                    continue
                answers.append(Detections(found.to_json(self.classes)))
        return answers

    def _run(self, chunk: FloatArray) -> list[np.ndarray]:
        try:
            outputs = self.session.run(
                self.names, {self.input_name: chunk.astype(self.input_dtype, copy=False)}
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"onnxruntime failed: {exc}") from None
        return [np.asarray(out) for out in outputs]

    def _postprocess(self, outputs: list[np.ndarray], geometry: Geometry) -> postprocess.Found:
        spec = self.output
        size = (self.spec.width, self.spec.height)
        n_classes = len(self.classes)
        coefficients = protos = None
        if spec.format == "raw":
            if spec.protos is not None:
                protos = outputs[1].astype(np.float32)
                if protos.ndim != 3:
                    raise postprocess.ContractError(
                        f"protos of one image must be [M, h, w], not {list(protos.shape)}"
                    )
            boxes, scores, labels, coefficients = postprocess.decode_raw(
                outputs[0].astype(np.float32),
                spec,
                n_classes,
                0 if protos is None else protos.shape[0],
            )
            masks = None
        else:
            boxes = outputs[0].astype(np.float32)
            scores = outputs[1].astype(np.float32).reshape(-1)
            raw_labels = outputs[2].reshape(-1)
            if raw_labels.dtype.kind == "f" and not np.array_equal(raw_labels, np.rint(raw_labels)):
                raise postprocess.ContractError("labels must be whole numbers")
            labels = raw_labels.astype(np.int64) - spec.label_offset
            masks = None
            if spec.masks is not None:
                masks = outputs[3].astype(np.float32)
                if masks.ndim == 4 and masks.shape[1] == 1:
                    masks = masks[:, 0]
        return postprocess.detect(
            boxes,
            scores,
            labels,
            spec=spec,
            geometry=geometry,
            input_size=size,
            num_classes=n_classes,
            masks=masks,
            coefficients=coefficients,
            protos=protos,
        )

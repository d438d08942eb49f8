"""Loaded models, kept per process: model versions → their runtimes (``ModelRuntime`` for
classifiers, ``DetectorRuntime`` for detection and segmentation)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from visionhub.worker.detector import DetectorRuntime
from visionhub.worker.protocol import ModelRef
from visionhub.worker.runtime import ModelRuntime, Runtime


class RuntimeCache:
    """Model versions → loaded runtimes (``ModelRuntime`` for classifiers, ``DetectorRuntime``
    for detection and segmentation); keeps the ``capacity`` most recently used."""

    def __init__(self, *, intra_op_threads: int = 0, capacity: int = 4) -> None:
        self.intra_op_threads = intra_op_threads
        self.capacity = max(1, capacity)
        self._runtimes: OrderedDict[tuple[object, ...], Runtime] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: ModelRef, path: Path) -> Runtime:
        """The runtime of ``model``, loading it from ``path`` the first time."""
        # The input spec and classes belong to the model definition, which can be edited.
        key = (model.version_id, model.onnx_file.sha256, model.input, model.classes, model.output)
        with self._lock:
            known = self._runtimes.get(key)
            if known is not None:
                self._runtimes.move_to_end(key)
                return known
            runtime: Runtime
            if model.output is None:
                runtime = ModelRuntime(
                    path, model.input, model.classes, intra_op_threads=self.intra_op_threads
                )
            else:
                runtime = DetectorRuntime(
                    path,
                    model.input,
                    model.output,
                    model.classes,
                    intra_op_threads=self.intra_op_threads,
                )
            self._runtimes[key] = runtime
            while len(self._runtimes) > self.capacity:
                self._runtimes.popitem(last=False)
            return runtime

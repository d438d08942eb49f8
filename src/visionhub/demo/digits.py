"""scikit-learn's handwritten digits as image folders, and a classifier trained on them.

The digits ship inside scikit-learn (no download): 1,797 images of 8x8 pixels with 17 grey
levels. They are written as 8-bit greyscale PNGs, one sub-folder per class, so the demo imports
them exactly like a user's ImageFolder data set. The classifier is trained on the pixels as the
worker will see them (decoded PNG / 255), so its accuracy on the server equals its accuracy here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SIZE = 8
CLASSES = [str(d) for d in range(10)]
INPUT_SPEC: dict[str, Any] = {
    "width": SIZE,
    "height": SIZE,
    "channels": 1,
    "layout": "flat",
    "scale": 1 / 255,
    "mean": [0.0],
    "std": [1.0],
    "output": "probabilities",
}


@dataclass(frozen=True)
class Split:
    folder: Path
    files: list[Path]
    labels: list[int]


def write_image_folders(
    root: Path, *, test_fraction: float = 0.25, seed: int = 0
) -> tuple[Split, Split]:
    """Write the digits as ``root/train/<class>/*.png`` and ``root/test/<class>/*.png``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits.target))
    n_test = int(len(order) * test_fraction)
    splits = {"test": order[:n_test], "train": order[n_test:]}
    result: dict[str, Split] = {}
    for split, indices in splits.items():
        files: list[Path] = []
        labels: list[int] = []
        for i in indices:
            label = int(digits.target[i])
            pixels = np.round(digits.images[i] * (255 / 16)).astype(np.uint8)
            path = root / split / CLASSES[label] / f"digit-{i:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels, "L").save(path)
            files.append(path)
            labels.append(label)
        result[split] = Split(root / split, files, labels)
    return result["train"], result["test"]


def load_pixels(files: list[Path]) -> np.ndarray:
    """The images as the worker preprocesses them: greyscale, flat, scaled to [0, 1]."""
    return np.stack(
        [np.asarray(Image.open(f).convert("L"), dtype=np.float32).reshape(-1) / 255 for f in files]
    )


def train(
    split: Split,
    *,
    epochs: int = 30,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> tuple[Any, dict[str, float]]:
    """Train a small neural network epoch by epoch; ``on_epoch(epoch, loss, val_accuracy)``."""
    from sklearn.neural_network import MLPClassifier

    x = load_pixels(split.files)
    y = np.asarray(split.labels)
    n_val = len(y) // 10
    x_val, y_val, x_fit, y_fit = x[:n_val], y[:n_val], x[n_val:], y[n_val:]
    model = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, random_state=0)
    classes = np.arange(len(CLASSES))
    val_accuracy = 0.0
    for epoch in range(1, epochs + 1):
        model.partial_fit(x_fit, y_fit, classes=classes)
        val_accuracy = float((model.predict(x_val) == y_val).mean())
        if on_epoch is not None:
            on_epoch(epoch, float(model.loss_), val_accuracy)
    return model, {"val_accuracy": val_accuracy, "loss": float(model.loss_), "epochs": epochs}


def to_onnx(model: Any) -> bytes:
    """Export to ONNX with a single output, the class probabilities."""
    from skl2onnx import to_onnx as skl_to_onnx

    onx = skl_to_onnx(
        model,
        np.zeros((1, SIZE * SIZE), dtype=np.float32),
        options={id(model): {"zipmap": False}},
        target_opset=15,
    )
    # Keep only the probabilities: workers read one score tensor per image.
    for output in list(onx.graph.output):
        if output.name != "probabilities":
            onx.graph.output.remove(output)
    data: bytes = onx.SerializeToString()
    return data

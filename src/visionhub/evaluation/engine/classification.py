"""Metrics of a classification label set: one ground-truth label per image.

The prediction of an image is its predicted annotation of highest confidence (ties: the
first); several predicted annotations per image, with their confidences, give top-k
accuracy. Per-class precision, recall and F1 are scikit-learn's
``precision_recall_fscore_support(..., zero_division=0)``; the confusion matrix is
``confusion_matrix`` over every category, plus a last column for images with no prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from visionhub.evaluation.engine.instances import Ints


@dataclass
class ClassificationTally:
    num_classes: int
    top_k: tuple[int, ...] = (1, 3, 5)
    confusion: Ints = field(init=False)
    hits_at: dict[int, int] = field(init=False)
    images: int = 0

    def __post_init__(self) -> None:
        self.confusion = np.zeros((self.num_classes, self.num_classes + 1), np.int64)
        self.hits_at = dict.fromkeys(self.top_k, 0)

    def add(self, truth: Ints, ranked: list[Ints]) -> None:
        """``truth[i]``: class index of image i; ``ranked[i]``: its predicted classes by
        descending confidence (empty: no prediction)."""
        self.images += len(truth)
        first = np.array([r[0] if len(r) else self.num_classes for r in ranked], np.int64)
        np.add.at(self.confusion, (truth, first), 1)
        for k in self.top_k:
            self.hits_at[k] += sum(int(t in r[:k]) for t, r in zip(truth, ranked, strict=True))

    def metrics(self, names: list[str]) -> dict[str, object]:
        c = self.confusion[:, : self.num_classes]
        tp = np.diag(c).astype(np.float64)
        predicted = c.sum(axis=0).astype(np.float64)
        actual = self.confusion.sum(axis=1).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(predicted > 0, tp / predicted, 0.0)
            recall = np.where(actual > 0, tp / actual, 0.0)
            f1 = np.where(
                precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0
            )
        total = max(self.images, 1)
        return {
            "num_images": self.images,
            "num_without_prediction": int(self.confusion[:, -1].sum()),
            "accuracy": float(tp.sum() / total) if self.images else 0.0,
            "top_k_accuracy": {
                str(k): self.hits_at[k] / total for k in self.top_k if k <= self.num_classes
            },
            "per_class": [
                {
                    "category": names[i],
                    "precision": float(precision[i]),
                    "recall": float(recall[i]),
                    "f1": float(f1[i]),
                    "support": int(actual[i]),
                }
                for i in range(self.num_classes)
            ],
            "macro_f1": float(f1[actual > 0].mean()) if (actual > 0).any() else 0.0,
            "confusion_matrix": {
                "labels": [*names, "(none)"],
                "rows": "ground truth",
                "columns": "prediction",
                "counts": self.confusion.tolist(),
            },
        }

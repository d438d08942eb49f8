"""Accepted answers as the datasets app's annotations (for runs and saved label sets)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visionhub.inference.models import ClassificationRequest


def annotations_of(
    request: ClassificationRequest, categories: Mapping[str, int]
) -> list[dict[str, Any]]:
    """The annotations of a completed request's answer: one per detection (``bbox``, RLE
    ``segmentation`` if any, ``conf``), or one classification label with its score."""
    base = {"image_id": request.image_id}
    if request.detections is not None:
        items = []
        for d in request.detections:
            item: dict[str, Any] = {
                **base,
                "category_id": categories[d["label"]],
                "conf": float(d["score"]),
                "bbox": [float(v) for v in d["box"]],
            }
            if d.get("mask") is not None:
                item["segmentation"] = d["mask"]
            items.append(item)
        return items
    scores = request.scores if isinstance(request.scores, dict) else {}
    return [
        {
            **base,
            "category_id": categories[request.label],
            "conf": float(scores.get(request.label, 1.0)),
        }
    ]

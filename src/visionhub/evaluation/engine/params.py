"""COCO's evaluation parameters, exactly as pycocotools' ``Params`` sets them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IOU_TYPES = ("bbox", "segm", "keypoints")

# pycocotools' default sigmas for the 17 keypoints of a COCO person.
COCO_PERSON_SIGMAS = (
    np.array(
        [
            0.26,
            0.25,
            0.25,
            0.35,
            0.35,
            0.79,
            0.79,
            0.72,
            0.72,
            0.62,
            0.62,
            1.07,
            1.07,
            0.87,
            0.87,
            0.89,
            0.89,
        ]
    )
    / 10.0
)


def _iou_thresholds() -> npt.NDArray[np.float64]:
    # The same expression as pycocotools, so that 0.5 and 0.75 are found by equality.
    return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def _recall_thresholds() -> npt.NDArray[np.float64]:
    return np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass(frozen=True)
class Params:
    iou_type: str
    iou_thresholds: npt.NDArray[np.float64] = field(default_factory=_iou_thresholds)
    recall_thresholds: npt.NDArray[np.float64] = field(default_factory=_recall_thresholds)
    max_dets: tuple[int, ...] = (1, 10, 100)
    area_ranges: tuple[tuple[float, float], ...] = (
        (0.0, 1e5**2),
        (0.0, 32.0**2),
        (32.0**2, 96.0**2),
        (96.0**2, 1e5**2),
    )
    area_labels: tuple[str, ...] = ("all", "small", "medium", "large")
    sigmas: npt.NDArray[np.float64] = field(default_factory=lambda: COCO_PERSON_SIGMAS.copy())


def params_for(iou_type: str, sigmas: list[float] | None = None) -> Params:
    """pycocotools' defaults for ``iou_type`` (keypoints: maxDets 20, no small range)."""
    if iou_type == "keypoints":
        return Params(
            iou_type=iou_type,
            max_dets=(20,),
            area_ranges=((0.0, 1e5**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2)),
            area_labels=("all", "medium", "large"),
            sigmas=np.array(sigmas, dtype=np.float64) if sigmas else COCO_PERSON_SIGMAS.copy(),
        )
    return Params(iou_type=iou_type)

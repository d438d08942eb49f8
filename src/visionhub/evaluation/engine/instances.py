"""Annotations of a group of images as columns of numpy arrays (never one object each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass
class Instances:
    """Ground truths or detections: one row each, in the order given (annotation id order).

    ``image`` orders the images as pycocotools does (ascending id); ``masks`` holds one
    pycocotools RLE per row for ``segm``, ``keypoints`` an ``[n, K, 3]`` array for keypoints.
    """

    ids: Ints
    image: Ints
    category: Ints
    score: Floats
    area: Floats
    crowd: Bools
    bbox: Floats
    masks: list[Any] | None = None
    keypoints: Floats | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: Ints | Bools) -> Instances:
        chosen = np.asarray(index)
        positions = np.flatnonzero(chosen) if chosen.dtype == np.bool_ else chosen
        return Instances(
            ids=self.ids[positions],
            image=self.image[positions],
            category=self.category[positions],
            score=self.score[positions],
            area=self.area[positions],
            crowd=self.crowd[positions],
            bbox=self.bbox[positions],
            masks=[self.masks[i] for i in positions] if self.masks is not None else None,
            keypoints=self.keypoints[positions] if self.keypoints is not None else None,
        )

    @classmethod
    def empty(cls, *, masks: bool = False, num_keypoints: int | None = None) -> Instances:
        return cls(
            ids=np.zeros(0, np.int64),
            image=np.zeros(0, np.int64),
            category=np.zeros(0, np.int64),
            score=np.zeros(0),
            area=np.zeros(0),
            crowd=np.zeros(0, np.bool_),
            bbox=np.zeros((0, 4)),
            masks=[] if masks else None,
            keypoints=np.zeros((0, num_keypoints, 3)) if num_keypoints is not None else None,
        )


def concatenate(parts: list[Instances]) -> Instances:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return Instances(
        ids=np.concatenate([p.ids for p in parts]),
        image=np.concatenate([p.image for p in parts]),
        category=np.concatenate([p.category for p in parts]),
        score=np.concatenate([p.score for p in parts]),
        area=np.concatenate([p.area for p in parts]),
        crowd=np.concatenate([p.crowd for p in parts]),
        bbox=np.concatenate([p.bbox for p in parts]),
        masks=[m for p in parts for m in (p.masks or [])] if first.masks is not None else None,
        keypoints=(
            np.concatenate([p.keypoints for p in parts if p.keypoints is not None])
            if first.keypoints is not None
            else None
        ),
    )

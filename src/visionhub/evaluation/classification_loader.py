"""A chunk of a classification evaluation: each image's true class and ranked predictions."""

from __future__ import annotations

import numpy as np
from django.db import connection

from visionhub.core import db
from visionhub.evaluation.loader import ImageChunk


class SeveralLabels(ValueError):
    pass


def load(
    gt_id: int, pred_id: int, chunk: ImageChunk, categories: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Class indices of the images with a ground-truth label, and per such image its
    predicted classes by descending confidence (ties: annotation order)."""
    where, args = db.id_in("image_id", chunk.ids.tolist())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT image_id, category_id FROM datasets_annotation "  # noqa: S608 - constants
            f"WHERE label_set_id = %s AND category_id IS NOT NULL AND {where} ORDER BY image_id, id",
            [gt_id, *args],
        )
        truth_rows = cursor.fetchall()
        cursor.execute(
            "SELECT image_id, category_id, conf FROM datasets_annotation "  # noqa: S608
            f"WHERE label_set_id = %s AND category_id IS NOT NULL AND {where} ORDER BY image_id, id",
            [pred_id, *args],
        )
        pred_rows = cursor.fetchall()
    truth: dict[int, int] = {}
    for image_id, category_id in truth_rows:
        if image_id in truth:
            raise SeveralLabels(f"image {image_id} has several ground-truth labels")
        truth[image_id] = int(np.searchsorted(categories, category_id))
    predictions: dict[int, list[tuple[float, int, int]]] = {}
    for n, (image_id, category_id, conf) in enumerate(pred_rows):
        predictions.setdefault(image_id, []).append(
            (-conf, n, int(np.searchsorted(categories, category_id)))
        )
    images = sorted(truth)
    ranked = [
        np.array(list(dict.fromkeys(c for _, _, c in sorted(predictions.get(i, [])))), np.int64)
        for i in images
    ]
    return np.array([truth[i] for i in images], np.int64), ranked

"""Evaluations of a prediction label set against a ground-truth one, and their error counts.

``Evaluation.metrics`` holds everything the engine computed (COCO stats, per-category AP and
AR, precision-recall curves, the confusion matrix, seed 004's precision levels).
``ImageErrors`` and ``CategoryErrors`` hold seed 004's ``num_fp`` / ``num_fn`` (and
``num_fp_cat`` / ``num_fn_cat``) per image and precision level, as rows so that "the images
with the most false positives at precision 0.8" is an index scan (``/comparisons``); the
same counts are also written, in seed 004's shape, to ``Image.compare_counts``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from visionhub.datasets.models import Category, Dataset, Image, LabelSet


class IouType(models.TextChoices):
    BBOX = "bbox"
    SEGM = "segm"
    KEYPOINTS = "keypoints"
    CLASSIFICATION = "classification"


class Status(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Evaluation(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="evaluations")
    gt = models.ForeignKey(LabelSet, on_delete=models.CASCADE, related_name="+")
    pred = models.ForeignKey(LabelSet, on_delete=models.CASCADE, related_name="+")
    iou_type = models.CharField(max_length=16, choices=IouType.choices)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0 to 1.")
    metrics = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "id"], name="evaluation_dataset")]

    def __str__(self) -> str:
        return f"evaluation {self.pk} ({self.iou_type})"


class ImageErrors(models.Model):
    """Seed 004's ``num_fp`` / ``num_fn`` of one image at one precision level (90 … 10)."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, db_index=False)
    # No database constraint: images go by raw DELETE (datasets.services); rows of a deleted
    # image are skipped by the join that serves them and go with their evaluation.
    image = models.ForeignKey(
        Image, on_delete=models.DO_NOTHING, db_index=False, db_constraint=False
    )
    level = models.PositiveSmallIntegerField()
    num_fp = models.PositiveIntegerField()
    num_fn = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "level", "image"], name="imageerrors_eval_level_image"
            )
        ]
        indexes = [
            models.Index(fields=["evaluation", "level", "num_fp", "image"], name="imageerrors_fp"),
            models.Index(fields=["evaluation", "level", "num_fn", "image"], name="imageerrors_fn"),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id}/{self.level}/{self.image_id}"


class CategoryErrors(models.Model):
    """Seed 004's ``num_fp_cat`` / ``num_fn_cat``: one image, category and level."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, db_index=False)
    # No database constraint: images go by raw DELETE (datasets.services); rows of a deleted
    # image are skipped by the join that serves them and go with their evaluation.
    image = models.ForeignKey(
        Image, on_delete=models.DO_NOTHING, db_index=False, db_constraint=False
    )
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    level = models.PositiveSmallIntegerField()
    num_fp = models.PositiveIntegerField()
    num_fn = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "category", "level", "image"],
                name="categoryerrors_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["evaluation", "category", "level", "num_fp", "image"],
                name="categoryerrors_fp",
            ),
            models.Index(
                fields=["evaluation", "category", "level", "num_fn", "image"],
                name="categoryerrors_fn",
            ),
            models.Index(fields=["category"], name="categoryerrors_category"),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id}/{self.category_id}/{self.level}/{self.image_id}"

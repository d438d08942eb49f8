"""Datasets, their images, categories, label sets and annotations (seeds 001 and 004).

Sizes to design for: a million images and ten million annotations in one PostgreSQL database.
Every list the API serves walks an index (see ``Meta.indexes``); nothing counts a big table per
request: ``Dataset.num_images`` and ``AnnotationCount`` are maintained by the services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from visionhub.accounts.sharing import Membership


class Visibility(models.TextChoices):
    PRIVATE = "private"
    PUBLIC = "public"


class DatasetStatus(models.TextChoices):
    """Seed 004 ``DatasetStatus``: an import runs ``waiting`` → ``importing`` → ``ready``."""

    WAITING = "waiting"
    IMPORTING = "importing"
    READY = "ready"
    FAILED = "failed"


class Dataset(models.Model):
    """A collection of images owned by one user; ``name`` is a slug unique per owner.

    Seed 001 gives the upload rules (``img_width``/``img_height`` minimums, ``maintain_ratio``),
    seed 004 the bookkeeping (type, status, detail_status, num_images, cover, object_types, group)
    and seed 003 ``details``, ``compressed`` and ``lightweight``. Seed 004's ``path``, ``files``,
    ``flag_export_link`` and ``description_func`` name server-local files and code; VisionHub keeps
    content in the blob store and serves exports through the API instead.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=100)
    display_name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    img_width = models.PositiveIntegerField(default=0, help_text="Minimum image width (pixels).")
    img_height = models.PositiveIntegerField(default=0, help_text="Minimum image height (pixels).")
    maintain_ratio = models.BooleanField(
        default=False, help_text="Images must have the ratio img_width:img_height (within 1%)."
    )
    type = models.CharField(max_length=50, blank=True, help_text="e.g. coco, folder.")
    status = models.CharField(
        max_length=20, choices=DatasetStatus.choices, default=DatasetStatus.READY
    )
    detail_status = models.JSONField(default=dict, blank=True, help_text="Status per importer.")
    object_types = models.JSONField(
        default=list, blank=True, help_text="Kinds of annotation present: classification, …"
    )
    group = models.CharField(max_length=100, blank=True)
    details = models.JSONField(default=dict, blank=True)
    compressed = models.BooleanField(default=False)
    lightweight = models.BooleanField(default=False)
    # Seed 003: the model definition this dataset trains, and whether its files are kept by
    # VisionHub (false: a dataset recorded here whose files live elsewhere; uploads refused).
    model = models.ForeignKey(
        "registry.ModelDefinition",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="datasets",
    )
    stored = models.BooleanField(default=True)
    num_images = models.BigIntegerField(default=0, editable=False)
    next_idx = models.BigIntegerField(
        default=0, editable=False, help_text="The idx the next image gets."
    )
    cover = models.ForeignKey(
        "Image",
        null=True,
        blank=True,
        # Cleared by the services when the image goes; no FK action keeps image deletes cheap.
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="dataset_owner_name"),
        ]
        indexes = [models.Index(fields=["visibility", "id"], name="dataset_visibility")]

    def __str__(self) -> str:
        return self.name


class DatasetMember(Membership):
    """A user other than the owner with read or write access to a dataset."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="members")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "user"], name="datasetmember_dataset_user")
        ]


class Flag(models.IntegerChoices):
    NONE = 0
    POSITIVE = 1
    NEGATIVE = 2


class Image(models.Model):
    """One image of a dataset (seed 004 ``ImageModel``), its bytes a blob named by ``sha256``.

    ``idx`` numbers the images of a dataset 0, 1, 2… in upload order; it is the browsing order
    and lets a client jump to any position with an index seek. ``annotated`` is kept by the
    annotation services so that "images without annotations" is an index range too. The same content is stored once
    per dataset (``sha256`` unique per dataset), under a file name unique in the dataset.
    """

    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="images", db_index=False
    )
    idx = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(help_text="Bytes.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10, help_text="Decoded format: PNG, JPEG, …")
    thumbnail_sha256 = models.CharField(max_length=64, blank=True)
    filename = models.CharField(
        max_length=500, help_text="Relative path, unique in the dataset (export file name)."
    )
    source_id = models.BigIntegerField(
        null=True, blank=True, help_text="The id this image had in an imported file (COCO)."
    )
    metadata = models.JSONField(default=dict, blank=True)
    flag = models.PositiveSmallIntegerField(choices=Flag.choices, default=Flag.NONE)
    flag_ts = models.DateTimeField(null=True, blank=True)
    annotated = models.BooleanField(
        default=False, editable=False, help_text="Has at least one annotation (any label set)."
    )
    # Seed 004 evaluation counters and per-label-set confirmation, kept as given.
    compare_counts = models.JSONField(default=dict, blank=True)
    label_confirm = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "idx"], name="image_dataset_idx"),
            # sha256 first: also answers "who may read this content" across datasets.
            models.UniqueConstraint(fields=["sha256", "dataset"], name="image_sha256_dataset"),
            models.UniqueConstraint(
                fields=["dataset", "source_id"],
                condition=models.Q(source_id__isnull=False),
                name="image_dataset_source_id",
            ),
            models.UniqueConstraint(fields=["dataset", "filename"], name="image_dataset_filename"),
        ]
        indexes = [
            models.Index(fields=["dataset", "flag", "idx"], name="image_dataset_flag"),
            models.Index(fields=["dataset", "annotated", "idx"], name="image_dataset_annotated"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id}#{self.idx}"


class StagedImage(models.Model):
    """An image uploaded for a dataset, checked and stored, but not in it yet.

    Bulk imports upload images in parallel to here, then add them in their file's order with
    ``from-hashes``, so ``idx`` follows the imported file whatever order the uploads finished
    in. Unclaimed rows expire (see ``services.images.STAGED_ATTACH_SECONDS``).
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, db_index=False)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    thumbnail_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "sha256"], name="stagedimage_dataset_sha256")
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.sha256[:12]}"


class Category(models.Model):
    """A class of objects in one dataset; keypoint names, skeleton and colours as in COCO.

    ``keypoint_skeleton`` is COCO's list of ``[a, b]`` pairs of 1-based keypoint numbers.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=200)
    supercategory = models.CharField(max_length=200, blank=True)
    keypoint_names = models.JSONField(default=list, blank=True)
    keypoint_skeleton = models.JSONField(default=list, blank=True)
    keypoint_colors = models.JSONField(default=list, blank=True)
    source_id = models.BigIntegerField(
        null=True, blank=True, help_text="The id this category had in an imported file (COCO)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="category_dataset_name"),
            models.UniqueConstraint(
                fields=["dataset", "source_id"],
                condition=models.Q(source_id__isnull=False),
                name="category_dataset_source_id",
            ),
        ]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class LabelKind(models.TextChoices):
    GT = "GT"
    PRED = "Pred"
    USER = "User"


class LabelSet(models.Model):
    """Seed 004 ``Label``: ground truth, one model's predictions, or a user's annotations."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="label_sets")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=4, choices=LabelKind.choices, default=LabelKind.GT)
    compare_precisions = models.JSONField(default=list, blank=True)
    cloned_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="labelset_dataset_name")
        ]

    def __str__(self) -> str:
        return self.name


class ConfirmType(models.IntegerChoices):
    NONE = 0
    GT_MAY_BE_FN = 1
    PRED_MAY_BE_FP = 2


class Annotation(models.Model):
    """Seed 004 ``Object``: one label of an image in one label set.

    Geometry is optional and combinable: none (a classification), a box ``[x, y, w, h]``, a
    segmentation (COCO polygons ``[[x1, y1, …], …]`` or RLE ``{"size": [h, w], "counts": …}``),
    an alpha-matte blob, COCO keypoints ``[x, y, v] * K`` named by the category, a caption.
    Rows reach this table through ``services.annotations`` only, which keeps ``AnnotationCount``.
    """

    image = models.ForeignKey(Image, on_delete=models.CASCADE, db_index=False)
    label_set = models.ForeignKey(LabelSet, on_delete=models.CASCADE, db_index=False)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, db_index=False
    )
    conf = models.FloatField(default=1.0)
    is_group = models.BooleanField(default=False)
    bbox_x = models.FloatField(null=True, blank=True)
    bbox_y = models.FloatField(null=True, blank=True)
    bbox_w = models.FloatField(null=True, blank=True)
    bbox_h = models.FloatField(null=True, blank=True)
    area = models.FloatField(null=True, blank=True)
    segmentation = models.JSONField(null=True, blank=True)
    alpha_sha256 = models.CharField(max_length=64, blank=True)
    keypoints = models.JSONField(null=True, blank=True)
    caption = models.TextField(blank=True)
    confirm_type = models.PositiveSmallIntegerField(
        choices=ConfirmType.choices, default=ConfirmType.NONE
    )
    compare_result = models.JSONField(null=True, blank=True)
    matched_gt = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        indexes = [
            models.Index(fields=["image", "label_set"], name="annotation_image_ls"),
            models.Index(fields=["label_set", "category"], name="annotation_ls_category"),
            models.Index(fields=["category", "image"], name="annotation_category_image"),
            models.Index(fields=["label_set", "conf"], name="annotation_ls_conf"),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk}"

    @property
    def bbox(self) -> list[float] | None:
        if self.bbox_x is None or self.bbox_y is None or self.bbox_w is None or self.bbox_h is None:
            return None
        return [self.bbox_x, self.bbox_y, self.bbox_w, self.bbox_h]


class AnnotationCount(models.Model):
    """How many annotations a label set holds per category (``category_key`` 0: none).

    Maintained in the same transaction as every annotation write, so dataset stats read a few
    rows instead of grouping ten million.
    """

    label_set = models.ForeignKey(LabelSet, on_delete=models.CASCADE, db_index=False)
    category_key = models.BigIntegerField(help_text="Category id, or 0 for no category.")
    num_annotations = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["label_set", "category_key"], name="annotationcount_ls_category"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label_set_id}/{self.category_key}: {self.num_annotations}"

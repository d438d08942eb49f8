"""Labeling projects (seed 004 ``label_task``): projects, tasks, roles, task images, labels, reviews.

The seed keeps an image's labels, reviews and per-role statuses nested in one MongoDB document;
here each is a row, so that "the images waiting for me" and every counter are index ranges:

- ``LabelTaskImage.status`` is the seed's ``role_status["label_leader"]`` (and
  ``["review_leader"]``, always equal to it): the image's overall state;
- ``ImageRoleStatus`` is ``role_status["labeler_<user>"]`` / ``["reviewer_<user>"]``, one row
  per worker role and image, created when the workers are set;
- ``UserLabelData`` is a labeler's current label of an image, ``UserReviewData`` one reviewer's
  verdict on one label. A new label replaces the old one, and the reviews of the old one go
  with it (the seed's ``_update_label``).

The counters (``LabelProject.task_num_*``, ``LabelTask.num_total``, ``TaskRole.*_num_*``) are
recounted by the services under a lock on the task row, so they are exact however many
labelers and reviewers write at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from visionhub.datasets.models import Dataset, Image


class ProjectStatus(models.TextChoices):
    WAITING = "waiting"
    INITIALIZING = "initializing"
    WORKING = "working"
    REVIEWING = "reviewing"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPORTING = "exporting"
    EXPORTED = "exported"
    FAILED = "failed"


class TaskStatus(models.TextChoices):
    WAITING = "waiting"
    WORKING = "working"
    REVIEWING = "reviewing"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ImageStatus(models.TextChoices):
    """Seed ``LabelTaskImageStatus``: ``labeling`` waits for a (re-)label."""

    LABELING = "labeling"
    REVIEWING = "reviewing"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Role(models.TextChoices):
    """Seed ``LabelProjectRoles``, highest first (``LEVELS``)."""

    OWNER = "owner"
    MANAGER = "manager"
    LABEL_LEADER = "label_leader"
    REVIEW_LEADER = "review_leader"
    LABELER = "labeler"
    REVIEWER = "reviewer"


LEVELS = {role: level for level, role in enumerate(Role)}
GT_LEADERS = frozenset({Role.OWNER, Role.MANAGER})
GTE_LEADERS = frozenset({Role.OWNER, Role.MANAGER, Role.LABEL_LEADER, Role.REVIEW_LEADER})
LEADERS = frozenset({Role.LABEL_LEADER, Role.REVIEW_LEADER})
WORKERS = frozenset({Role.LABELER, Role.REVIEWER})
TASK_ROLES = LEADERS | WORKERS
REVIEW_KINDS = frozenset({Role.REVIEWER, Role.REVIEW_LEADER})


class ExportMode(models.TextChoices):
    MERGE = "merge"
    PER_LABELER = "per_labeler"


class LabelProject(models.Model):
    """A labeling project over one or more datasets (seed ``LabelProject``).

    ``categories`` are names (stripped, lower case, distinct, sorted, as the seed keeps them);
    initialisation makes each one a category of every dataset. ``pre_label`` names a label set
    whose annotations every dataset offers its labelers as editable defaults.
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_label_projects"
    )
    datasets = models.ManyToManyField(Dataset, related_name="label_projects")
    categories = models.JSONField(default=list)
    pre_label = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.WAITING
    )
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    label_times = models.PositiveIntegerField(null=True, blank=True)
    review_times = models.PositiveIntegerField(null=True, blank=True)
    task_num_total = models.PositiveIntegerField(default=0)
    task_num_waiting = models.PositiveIntegerField(default=0)
    task_num_working = models.PositiveIntegerField(default=0)
    task_num_reviewing = models.PositiveIntegerField(default=0)
    task_num_rejected = models.PositiveIntegerField(default=0)
    task_num_accepted = models.PositiveIntegerField(default=0)
    progress = models.FloatField(default=0.0, help_text="Of the running initialisation or export.")
    image_subset = models.BooleanField(
        default=False, help_text="Only the images in ProjectImage, not whole datasets."
    )
    error = models.TextField(blank=True, help_text="Why the last background step failed.")
    export_report = models.JSONField(default=dict, blank=True)
    created_ts = models.DateTimeField(auto_now_add=True)
    updated_ts = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class ProjectImage(models.Model):
    """An image a project labels when it covers part of its datasets (``image_subset``): the
    images an evaluation found wrong, say."""

    project = models.ForeignKey(
        LabelProject, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "image"], name="projectimage_project_image")
        ]

    def __str__(self) -> str:
        return f"image {self.image_id} of {self.project_id}"


class ProjectRole(models.Model):
    """A role of a user in a project; a user may hold several (seed ``ProjectRole``)."""

    project = models.ForeignKey(
        LabelProject, on_delete=models.CASCADE, related_name="roles", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="label_project_roles"
    )
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user", "role"], name="projectrole_project_user_role"
            )
        ]
        indexes = [models.Index(fields=["user", "project"], name="projectrole_user_project")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} of {self.project_id}"


class LabelTask(models.Model):
    """A batch of one dataset's images, labeled and reviewed together (seed ``LabelTask``)."""

    project = models.ForeignKey(LabelProject, on_delete=models.CASCADE, related_name="tasks")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    idx = models.PositiveIntegerField()
    num_total = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.WAITING)
    created_ts = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "idx"], name="labeltask_project_idx")
        ]
        indexes = [models.Index(fields=["project", "status"], name="labeltask_project_status")]

    def __str__(self) -> str:
        return f"task {self.idx} of {self.project_id}"


class TaskRole(models.Model):
    """A user's role in one task, with their progress (seed ``TaskRole``).

    A replaced user's row stays, inactive, so the history of who did what is kept; the new
    user's row takes over the counters.
    """

    project = models.ForeignKey(LabelProject, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(
        LabelTask, on_delete=models.CASCADE, related_name="roles", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="label_task_roles"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    label_num_waiting = models.PositiveIntegerField(default=0)
    review_num_waiting = models.PositiveIntegerField(default=0)
    review_num_rejected = models.PositiveIntegerField(default=0)
    review_num_accepted = models.PositiveIntegerField(default=0)
    label_completed = models.BooleanField(default=False)
    review_completed = models.BooleanField(default=False)
    created_ts = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "user", "role"],
                condition=models.Q(is_active=True),
                name="taskrole_active_user_role",
            ),
            # One active label leader and one active review leader per task.
            models.UniqueConstraint(
                fields=["task", "role"],
                condition=models.Q(is_active=True, role__in=["label_leader", "review_leader"]),
                name="taskrole_one_leader",
            ),
        ]
        indexes = [
            models.Index(fields=["task", "is_active", "role"], name="taskrole_task_role"),
            models.Index(fields=["user", "project", "is_active"], name="taskrole_user_project"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} of task {self.task_id}"


class LabelTaskImage(models.Model):
    """One image of a task (seed ``LabelTaskImageModel``); ``default_labels`` are the
    pre-labels, in the label annotation shape, and ``agreement`` what the labelers agree on
    (``agreement.image_agreement``), kept once every labeler has labeled."""

    task = models.ForeignKey(
        LabelTask, on_delete=models.CASCADE, related_name="images", db_index=False
    )
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    idx = models.PositiveIntegerField()
    status = models.CharField(
        max_length=20, choices=ImageStatus.choices, default=ImageStatus.LABELING
    )
    default_labels = models.JSONField(default=list, blank=True)
    agreement = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "idx"], name="labeltaskimage_task_idx"),
            models.UniqueConstraint(fields=["task", "image"], name="labeltaskimage_task_image"),
        ]
        indexes = [models.Index(fields=["task", "status", "idx"], name="labeltaskimage_status")]

    def __str__(self) -> str:
        return f"image {self.image_id} of task {self.task_id}"


class ImageRoleStatus(models.Model):
    """A worker's state on one image: ``role_status["labeler_<user>"]`` of the seed."""

    # Both covered by the composite indexes below.
    task_image = models.ForeignKey(
        LabelTaskImage, on_delete=models.CASCADE, related_name="role_statuses", db_index=False
    )
    task_role = models.ForeignKey(
        TaskRole, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    status = models.CharField(
        max_length=20, choices=ImageStatus.choices, default=ImageStatus.LABELING
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task_role", "task_image"], name="imagerolestatus_role_image"
            )
        ]
        indexes = [
            models.Index(fields=["task_image", "task_role"], name="imagerolestatus_image"),
            models.Index(fields=["task_role", "status"], name="imagerolestatus_status"),
        ]

    def __str__(self) -> str:
        return f"{self.task_role_id} on {self.task_image_id}: {self.status}"


class UserLabelData(models.Model):
    """A labeler's current label of one task image: a list of annotations whose geometry
    the datasets app checks (``services.check_label``)."""

    task_image = models.ForeignKey(
        LabelTaskImage, on_delete=models.CASCADE, related_name="labels", db_index=False
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    annotations = models.JSONField(default=list)
    created_ts = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_image", "user"], name="userlabeldata_image_user")
        ]

    def __str__(self) -> str:
        return f"label {self.pk} by {self.user_id}"


class ReviewAction(models.TextChoices):
    ACCEPT = "accept"
    REJECT = "reject"


class UserReviewData(models.Model):
    """One reviewer's verdict on one label (seed ``UserReviewData``)."""

    label = models.ForeignKey(
        UserLabelData, on_delete=models.CASCADE, related_name="reviews", db_index=False
    )
    task_image = models.ForeignKey(
        LabelTaskImage, on_delete=models.CASCADE, related_name="reviews", db_index=False
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=10, choices=ReviewAction.choices)
    comment = models.TextField(blank=True)
    created_ts = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["label", "user"], name="userreviewdata_label_user")
        ]
        indexes = [models.Index(fields=["task_image", "user"], name="userreviewdata_image_user")]

    def __str__(self) -> str:
        return f"{self.action} of label {self.label_id} by {self.user_id}"

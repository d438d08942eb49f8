"""The model registry: definitions, versions and their files, projects, trainings, deployments.

Field names here are an interface: the inference app foreign-keys ``ModelVersion`` and
``Deployment`` and reads ``ModelDefinition.input_spec`` / ``classes`` and ``ModelFile``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from visionhub.accounts.sharing import Membership


class Task(models.TextChoices):
    CLASSIFICATION = "classification"
    DETECTION = "detection"
    SEGMENTATION = "segmentation"  # instance segmentation: detection plus a mask per box


class ModelDefinition(models.Model):
    """A model template (seed 003): what a version's files and input look like.

    ``input_spec`` holds ``width, height, channels, layout, scale, mean, std, output, resize,
    pad``; ``output_spec`` the contract of a detection or segmentation model's outputs
    (``registry.specs.clean_output_spec``; empty for classification); ``file_specs`` is a list
    of ``{name, description, required, max_mb}`` (the files of a version) and ``data_files``
    the same for the files of a training dataset (seed 003's ``data_files``). Everything but
    ``name`` may be edited.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="model_definitions"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    task = models.CharField(max_length=20, choices=Task.choices, default=Task.CLASSIFICATION)
    classes = models.JSONField(default=list)
    input_spec = models.JSONField(default=dict)
    output_spec = models.JSONField(default=dict, blank=True)
    file_specs = models.JSONField(default=list)
    data_files = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="modeldefinition_owner_name")
        ]
        indexes = [models.Index(fields=["name"], name="modeldefinition_name")]

    def __str__(self) -> str:
        return self.name


class ModelMember(Membership):
    """Someone other than the owner who may read (or also write) a model and its versions."""

    definition = models.ForeignKey(
        ModelDefinition, on_delete=models.CASCADE, related_name="members"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "definition"], name="modelmember_user_def")
        ]


class Project(models.Model):
    """A project managed by the team (seed 003): code and images that produce trainings."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    model_definitions = models.ManyToManyField(ModelDefinition, blank=True, related_name="projects")
    home_dir = models.CharField(max_length=500, blank=True, default="")
    git_repo = models.CharField(max_length=500, blank=True, default="")
    docker_repo = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="project_owner_name")]

    def __str__(self) -> str:
        return self.name


class BuildSource(models.TextChoices):
    LOCAL = "local"
    GIT = "git"
    PRE_BUILT = "pre-built"


class BuildVersion(models.Model):
    """A Docker image built from a project (seed 003's ``bvers``)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="build_versions")
    tag = models.CharField(max_length=128)
    docker_id = models.CharField(max_length=128, blank=True, default="")
    git_version = models.CharField(max_length=64, blank=True, default="")
    built_at = models.DateTimeField()
    built_from = models.CharField(max_length=10, choices=BuildSource.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "tag"], name="buildversion_tag")]

    def __str__(self) -> str:
        return self.tag


class TrainingState(models.TextChoices):
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Training(models.Model):
    """One execution of a training (seed 003), with its task: state, progress and times."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainings"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="trainings"
    )
    build_version = models.ForeignKey(
        BuildVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="trainings"
    )
    notebook = models.CharField(max_length=500, blank=True, default="")
    state = models.CharField(
        max_length=10, choices=TrainingState.choices, default=TrainingState.WAITING
    )
    progress = models.FloatField(default=0.0)
    start_time = models.DateTimeField(null=True, blank=True)
    update_time = models.DateTimeField(auto_now_add=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "id"], name="training_owner_id")]

    def __str__(self) -> str:
        return self.name or f"training {self.pk}"


class ModelVersion(models.Model):
    """An uploaded, immutable set of files for a definition, numbered 1, 2, 3… per definition.

    ``dataset``, ``training`` and ``pretrained`` are live references; ``*_snapshot`` record
    how they were when the version was made (seed 003's embedded documents) and outlive them.
    ``lineage_snapshot`` is the ancestry brought along by an imported bundle.

    ``compressed`` and ``lightweight`` are seed 003's flags as the uploader states them (the
    files were packed into one tar.gz; they belong in a lightweight file store). VisionHub
    records and returns them and keeps every file as its own content-addressed blob whatever
    they say (docs/registry.md).
    """

    definition = models.ForeignKey(
        ModelDefinition, on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=100, blank=True, default="")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="uploaded_model_versions",
    )
    uploaded_on = models.DateTimeField(auto_now_add=True)
    dataset = models.ForeignKey(
        "datasets.Dataset",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="model_versions",
    )
    training = models.ForeignKey(
        Training, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions"
    )
    pretrained = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived"
    )
    pretrained_ref = models.CharField(max_length=250, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    dataset_snapshot = models.JSONField(null=True, blank=True)
    training_snapshot = models.JSONField(null=True, blank=True)
    lineage_snapshot = models.JSONField(null=True, blank=True)
    compressed = models.BooleanField(default=False)
    lightweight = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["definition", "version"], name="modelversion_number"),
            models.UniqueConstraint(
                fields=["definition", "name"],
                condition=~models.Q(name=""),
                name="modelversion_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition.name}:{self.version}"


class ModelFile(models.Model):
    """One file of a version: a content-addressed blob under the name its file spec gives."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="modelfile_version_name")
        ]

    def __str__(self) -> str:
        return self.name


class Deployment(models.Model):
    """A named route to a model version, served by workers (names are unique server-wide).

    ``replication`` workers classify each request and ``quorum`` identical answers accept it;
    for detections, answers agree when their boxes match one to one by class with an IoU of at
    least ``match_iou`` and scores within ``score_tolerance``.
    Changing ``model_version`` is a rollout; ``revisions`` keeps the history.
    ``build_version`` (seed 003's ``bvers``: the image its containers run) belongs to
    ``project``; ``notebook`` is the path of the prediction notebook in the project's repository.
    """

    name = models.CharField(max_length=100, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deployments"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="deployments"
    )
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    build_version = models.ForeignKey(
        BuildVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    notebook = models.CharField(max_length=500, blank=True, default="")
    replication = models.PositiveIntegerField(default=1)
    quorum = models.PositiveIntegerField(default=1)
    match_iou = models.FloatField(default=0.9)
    score_tolerance = models.FloatField(default=0.05)
    is_active = models.BooleanField(default=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quorum__gte=1) & models.Q(quorum__lte=models.F("replication")),
                name="deployment_quorum_range",
            )
        ]
        indexes = [models.Index(fields=["owner", "id"], name="deployment_owner_id")]

    def __str__(self) -> str:
        return self.name


class DeploymentMember(Membership):
    """Someone who may read (and so submit classifications to) or also change a deployment."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="members")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "deployment"], name="deploymentmember_user")
        ]


class DeploymentRevision(models.Model):
    """One entry of a deployment's history: which version it served from when, set by whom.

    ``model_ref`` (``name:version``) keeps the entry readable after the version is deleted.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="revisions")
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model_ref = models.CharField(max_length=250)
    replication = models.PositiveIntegerField()
    quorum = models.PositiveIntegerField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["deployment", "id"], name="deploymentrev_dep_id")]

    def __str__(self) -> str:
        return f"{self.deployment_id} → {self.model_ref}"

"""Distributed classification: requests, their leases (dispatch tokens), results and workers.

A request waits in the queue while ``open_slots > 0``: that many more leases may be handed out
(1 for an unreplicated deployment; K, and more after a disagreement, for replication K). Every
lease is a ``DispatchToken``; a result counts only when it comes with the token of a lease that
is still active. The claim order is ``(priority DESC, fair_key, id)``; ``fair_key`` is explained
in ``queue.py``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class Status(models.TextChoices):
    PENDING = "pending"
    ASSIGNED = "assigned"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


def _default_max_attempts() -> int:
    return int(settings.MAX_ATTEMPTS)


class Worker(models.Model):
    """One worker process (or a group of them sharing a name) of a worker account.

    Votes are counted per process and summed per account (``owner``): the account is the unit
    of trust, since one person can run any number of processes.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inference_workers"
    )
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=100, blank=True, default="")
    site = models.CharField(max_length=200, blank=True, default="")
    flavor = models.CharField(max_length=200, blank=True, default="")
    deployments = models.JSONField(
        default=list, blank=True, help_text="Deployment names it asked for; empty means all."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(db_index=True)
    jobs_done = models.PositiveBigIntegerField(default=0)
    jobs_failed = models.PositiveBigIntegerField(default=0)
    votes_compared = models.PositiveBigIntegerField(
        default=0, help_text="Votes on replicated requests that reached a quorum."
    )
    votes_agreed = models.PositiveBigIntegerField(
        default=0, help_text="Of those, votes equal to the accepted label."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="worker_owner_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def agreement_rate(self) -> float | None:
        if not self.votes_compared:
            return None
        return self.votes_agreed / self.votes_compared


class RunStatus(models.TextChoices):
    RUNNING = "running"
    CANCELLED = "cancelled"


class Run(models.Model):
    """A deployment run over (some of) a dataset's images: one request per image, each accepted
    answer written into ``label_set`` (kind Pred) as annotations with ``conf``, in the same
    transaction that accepts it. Progress is counted from its requests."""

    deployment = models.ForeignKey(
        "registry.Deployment", on_delete=models.CASCADE, related_name="runs"
    )
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="runs")
    label_set = models.ForeignKey(
        "datasets.LabelSet", on_delete=models.CASCADE, related_name="runs"
    )
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inference_runs"
    )
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    queued = models.PositiveIntegerField(default=0, help_text="Images queued by this run.")
    skipped = models.PositiveIntegerField(
        default=0, help_text="Images left out: already predicted into the label set."
    )
    annotations = models.PositiveBigIntegerField(default=0, help_text="Annotations written.")
    write_errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["deployment", "id"], name="run_deployment_id")]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.deployment_id}"


class ClassificationRequest(models.Model):
    """An image to classify with a deployment's model version (routed at submission)."""

    deployment = models.ForeignKey(
        "registry.Deployment",
        on_delete=models.CASCADE,
        related_name="classification_requests",
        db_index=False,  # led by the (deployment, status, completed_at) index
    )
    # A version with open requests cannot be deleted (registry's delete_version refuses); once
    # it is, the history keeps its "name:version" in ``model_ref``.
    model_version = models.ForeignKey(
        "registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="classification_requests",
    )
    model_ref = models.CharField(max_length=250, blank=True, default="")
    run = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requests",
        db_index=False,  # led by the (run, status) index
    )
    image_sha256 = models.CharField(max_length=64)
    image = models.ForeignKey(
        "datasets.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="classification_requests",
    )
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="classification_requests",
        db_index=False,  # led by the (submitter, id) index
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    priority = models.SmallIntegerField(default=0)
    fair_key = models.BigIntegerField(default=0)

    # Redundancy, copied from the deployment at submission.
    replication = models.PositiveSmallIntegerField(default=1)
    quorum = models.PositiveSmallIntegerField(default=1)
    # When two detection answers agree (quorum by geometry, see ``quorum.same_detections``).
    match_iou = models.FloatField(default=0.9)
    score_tolerance = models.FloatField(default=0.05)
    replicas_wanted = models.PositiveSmallIntegerField(
        default=1, help_text="Leases wanted in all: replication, plus one per disagreement."
    )
    # Queue bookkeeping: leases still to hand out, leases out now, leases ever handed out.
    open_slots = models.PositiveSmallIntegerField(default=1)
    active_leases = models.PositiveSmallIntegerField(default=0)
    lease_count = models.PositiveIntegerField(default=0)

    attempts = models.PositiveIntegerField(
        default=0, help_text="Leases handed out, not counting those released unused."
    )
    failures = models.PositiveIntegerField(default=0, help_text="Failed or expired leases.")
    max_attempts = models.PositiveIntegerField(default=_default_max_attempts)
    errors = models.JSONField(default=list, blank=True)

    label = models.CharField(max_length=200, blank=True, default="")
    scores = models.JSONField(null=True, blank=True)
    # Detection and segmentation models: ``[{label, score, box: [x, y, w, h], mask?}]``.
    detections = models.JSONField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    assigned_on = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The claim: the next queued requests in queue order. Partial, so it only ever holds
            # the queue itself, however many finished requests the table keeps.
            models.Index(
                models.F("priority").desc(),
                "fair_key",
                "id",
                condition=Q(open_slots__gt=0),
                name="clsreq_queue",
            ),
            # The same for workers that serve some deployments only.
            models.Index(
                "deployment",
                models.F("priority").desc(),
                "fair_key",
                "id",
                condition=Q(open_slots__gt=0),
                name="clsreq_dep_queue",
            ),
            # The fair key of new submissions: the queue head, and the submitter's own tail.
            models.Index(fields=["fair_key"], condition=Q(open_slots__gt=0), name="clsreq_head"),
            models.Index(
                fields=["submitter", "fair_key"],
                condition=Q(open_slots__gt=0),
                name="clsreq_user_tail",
            ),
            models.Index(fields=["submitter", "id"], name="clsreq_submitter_id"),
            models.Index(fields=["deployment", "status", "completed_at"], name="clsreq_dep_status"),
            # A run's progress, and the images a new run of a label set skips.
            models.Index(fields=["run", "status"], name="clsreq_run_status"),
        ]

    def __str__(self) -> str:
        return f"classification {self.pk} ({self.status})"

    @property
    def result(self) -> dict[str, Any] | None:
        if self.status != Status.COMPLETED:
            return None
        if self.detections is not None:
            return {"label": None, "scores": {}, "detections": self.detections}
        return {"label": self.label, "scores": self.scores or {}}


class TokenState(models.TextChoices):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"
    RELEASED = "released"
    REVOKED = "revoked"


class DispatchToken(models.Model):
    """One lease: the right of one worker account to answer one request, once, until expiry.

    The secret is shown to the worker once, in the claim answer; only its SHA-256 is kept.
    """

    request = models.ForeignKey(
        ClassificationRequest, on_delete=models.CASCADE, related_name="tokens", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dispatch_tokens"
    )
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="dispatch_tokens")
    attempt = models.PositiveIntegerField()
    token_hash = models.CharField(max_length=64, unique=True)
    replicated = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=TokenState.choices, default=TokenState.ACTIVE)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "attempt"], name="dispatchtoken_attempt"),
            # One account never votes twice on a replicated request, however many processes:
            # at most one lease of it is out or answered (an expired one does not count).
            models.UniqueConstraint(
                fields=["request", "user"],
                condition=Q(replicated=True, state__in=["active", "used"]),
                name="dispatchtoken_one_vote",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(state="active"), name="dispatchtoken_active"
            ),
            models.Index(fields=["request", "user"], name="dispatchtoken_req_user"),
        ]

    def __str__(self) -> str:
        return f"lease {self.request_id}#{self.attempt}"


class ClassificationResult(models.Model):
    """What one lease answered: a label and scores, or errors. At most one per lease."""

    request = models.ForeignKey(
        ClassificationRequest, on_delete=models.CASCADE, related_name="results"
    )
    token = models.OneToOneField(
        DispatchToken, on_delete=models.CASCADE, related_name="result", null=True, blank=True
    )
    worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="classification_results",
    )
    attempt = models.PositiveIntegerField(default=0)
    completed_on = models.DateTimeField()
    label = models.CharField(max_length=200, blank=True, default="")
    scores = models.JSONField(null=True, blank=True)
    detections = models.JSONField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True)
    accepted = models.BooleanField(
        default=False, help_text="This vote's label is the request's accepted result."
    )
    agreed = models.BooleanField(
        null=True, blank=True, help_text="Equal to the accepted label (replicated requests)."
    )

    def __str__(self) -> str:
        return f"result of {self.request_id}#{self.attempt}"

"""The benchmark-results database of seed 002.

A ``Benchmark`` is a docker image at one tag with the JSON Schema its results must match; a
``Site`` offers ``Flavor``s of virtual machines; a ``BenchmarkResult`` is one run of a benchmark
on a flavor. Benchmarks, sites and flavors made by non-staff wait ``on_review`` with a
``Submit`` until staff approve them. Anyone may file a ``Claim`` against a resource; a claimed
result is hidden until staff decide. ``Notification`` is the e-mail outbox.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Generic, TypeVar, cast

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from visionhub.benchmarks.jsonsql import CodePoints


class Status(models.TextChoices):
    ON_REVIEW = "on_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class ResourceType(models.TextChoices):
    BENCHMARK = "benchmark"
    SITE = "site"
    FLAVOR = "flavor"
    RESULT = "result"
    CLAIM = "claim"


R = TypeVar("R", bound=models.Model)


class OneResource(Generic[R]):
    """For a row with exactly one of the nullable foreign keys ``RESOURCE_FIELDS`` set (each
    named as its ``ResourceType``): which one, read from the ``*_id`` columns, so that the type
    and id cost no query and ``resource`` loads only the one row (none if select_related)."""

    RESOURCE_FIELDS: ClassVar[tuple[str, ...]]

    def _resource_field(self) -> str:
        for name in self.RESOURCE_FIELDS:
            if getattr(self, f"{name}_id") is not None:
                return name
        raise AssertionError(f"{self!r} has none of {self.RESOURCE_FIELDS}")

    @property
    def resource(self) -> R:
        return cast(R, getattr(self, self._resource_field()))

    @property
    def resource_type(self) -> str:
        return str(ResourceType(self._resource_field()))

    @property
    def resource_id(self) -> uuid.UUID:
        return cast(uuid.UUID, getattr(self, f"{self._resource_field()}_id"))


def exactly_one(*fields: str) -> Q:
    """A condition true when exactly one of the nullable foreign keys ``fields`` is set."""
    condition = Q()
    for chosen in fields:
        one = Q(**{f"{chosen}__isnull": False})
        for other in fields:
            if other != chosen:
                one &= Q(**{f"{other}__isnull": True})
        condition |= one
    return condition


class Uploaded(models.Model):
    """UUID key, upload time and uploader, as every resource of the seed has.

    ``uploader`` is null only for built-in resources (VisionHub's own inference benchmark) and
    for uploads of deleted users. OIDC users are found by issuer + subject through
    ``accounts.Identity``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    upload_datetime = models.DateTimeField(default=timezone.now, editable=False)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True


class Reviewed(Uploaded):
    """A resource that non-staff create ``on_review`` (seed: ``NeedsApprove``)."""

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ON_REVIEW)

    class Meta:
        abstract = True

    @property
    def is_approved(self) -> bool:
        return self.status == Status.APPROVED


class Benchmark(Reviewed):
    """A docker image at one tag; its results must validate against ``json_schema``."""

    docker_image = models.CharField(max_length=255)
    docker_tag = models.CharField(max_length=128)
    url = models.URLField(max_length=500, blank=True, default="")
    json_schema = models.JSONField()
    schema_hash = models.CharField(max_length=64, editable=False)
    description = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["docker_image", "docker_tag"],
                condition=~Q(status=Status.REJECTED),
                name="benchmark_image_tag",
            )
        ]
        indexes = [models.Index(fields=["status", "upload_datetime"], name="benchmark_status")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"{self.docker_image}:{self.docker_tag}"


class Site(Reviewed):
    """A place where benchmarks run: usually a cloud provider of virtual machines."""

    name = models.CharField(max_length=100)
    address = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=~Q(status=Status.REJECTED), name="site_name"
            )
        ]
        indexes = [models.Index(fields=["status", "name"], name="site_status_name")]

    def __str__(self) -> str:
        return self.name


class Flavor(Reviewed):
    """A virtual machine template offered by a site."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="flavors")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "name"], condition=~Q(status=Status.REJECTED), name="flavor_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.site.name}/{self.name}"


class Tag(models.Model):
    """A label on results, e.g. ``gpu`` or ``cpu``; no review, usable as soon as it exists."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    upload_datetime = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.name


VISIBLE = Q(deleted=False, claimed=False)


class BenchmarkResult(Uploaded):
    """One run of ``benchmark`` on ``flavor``; ``site`` is copied from the flavor for queries.

    ``json`` is JSONB on PostgreSQL (GIN-indexed with ``jsonb_path_ops``, see migration 0002)
    and JSON1 text on SQLite. ``deleted`` hides the result from every normal query but keeps
    it; ``claimed`` hides it while a claim against it is open or after a claim was upheld.

    ``benchmark_name``, ``site_name`` and ``flavor_name`` copy the names of the referenced rows
    (which never change: image, tag and names are fixed at creation) so that sorting by them is
    an index walk on this table instead of a join and a sort.
    """

    json = models.JSONField()
    execution_datetime = models.DateTimeField()
    benchmark = models.ForeignKey(Benchmark, on_delete=models.PROTECT, related_name="results")
    flavor = models.ForeignKey(Flavor, on_delete=models.PROTECT, related_name="results")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="results")
    tags = models.ManyToManyField(Tag, related_name="results", blank=True)
    deleted = models.BooleanField(default=False)
    claimed = models.BooleanField(default=False)
    benchmark_name = models.CharField(max_length=384, default="", editable=False)
    site_name = models.CharField(max_length=100, default="", editable=False)
    flavor_name = models.CharField(max_length=100, default="", editable=False)

    class Meta:
        indexes = [
            # The sorts of ``sort_by`` (filters.RESULT_SORTS), among visible results; names are
            # compared by code point (``COLLATE "C"``) on both databases.
            models.Index(
                fields=["execution_datetime", "id"],
                condition=VISIBLE,
                name="result_visible_execution",
            ),
            models.Index(
                CodePoints("benchmark_name"), "id", condition=VISIBLE, name="result_visible_bench"
            ),
            models.Index(
                CodePoints("site_name"), "id", condition=VISIBLE, name="result_visible_site"
            ),
            models.Index(
                CodePoints("flavor_name"), "id", condition=VISIBLE, name="result_visible_flavor"
            ),
            models.Index(
                CodePoints("site_name"),
                CodePoints("flavor_name"),
                "id",
                condition=VISIBLE,
                name="result_visible_site_flavor",
            ),
            # The default listing: newest first among visible results.
            models.Index(
                fields=["-upload_datetime", "-id"],
                condition=Q(deleted=False, claimed=False),
                name="result_visible_recent",
            ),
            models.Index(
                fields=["benchmark", "-upload_datetime", "-id"], name="result_benchmark_recent"
            ),
            models.Index(fields=["execution_datetime"], name="result_execution"),
            models.Index(fields=["uploader", "-upload_datetime"], name="result_uploader"),
        ]

    def __str__(self) -> str:
        return f"result {self.id}"


class Claim(OneResource["Benchmark | Site | Flavor | BenchmarkResult"], Uploaded):
    """A user's report that a resource is false or wrong; staff uphold or dismiss it.

    ``status`` is ``on_review`` while open, ``approved`` when upheld and ``rejected`` when
    dismissed. Exactly one of the four resource keys is set.
    """

    message = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ON_REVIEW)
    benchmark = models.ForeignKey(
        Benchmark, on_delete=models.CASCADE, null=True, blank=True, related_name="claims"
    )
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="claims"
    )
    flavor = models.ForeignKey(
        Flavor, on_delete=models.CASCADE, null=True, blank=True, related_name="claims"
    )
    result = models.ForeignKey(
        BenchmarkResult, on_delete=models.CASCADE, null=True, blank=True, related_name="claims"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=exactly_one("benchmark", "site", "flavor", "result"),
                name="claim_one_resource",
            )
        ]
        indexes = [models.Index(fields=["uploader", "-upload_datetime"], name="claim_uploader")]

    RESOURCE_FIELDS = ("benchmark", "site", "flavor", "result")

    def __str__(self) -> str:
        return f"claim {self.pk}"


class Submit(OneResource["Benchmark | Site | Flavor | Claim"], models.Model):
    """A request for review: a new benchmark, site or flavor, or a new claim.

    Staff approve or reject it; the decision is applied to the resource in the same
    transaction and its people are notified through the outbox.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    upload_datetime = models.DateTimeField(default=timezone.now, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ON_REVIEW)
    benchmark = models.ForeignKey(
        Benchmark, on_delete=models.CASCADE, null=True, blank=True, related_name="submits"
    )
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="submits"
    )
    flavor = models.ForeignKey(
        Flavor, on_delete=models.CASCADE, null=True, blank=True, related_name="submits"
    )
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, null=True, blank=True, related_name="submits"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_message = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=exactly_one("benchmark", "site", "flavor", "claim"),
                name="submit_one_resource",
            )
        ]
        indexes = [models.Index(fields=["status", "-upload_datetime"], name="submit_status")]

    RESOURCE_FIELDS = ("benchmark", "site", "flavor", "claim")

    def __str__(self) -> str:
        return f"submit {self.pk}"


class Notification(models.Model):
    """The outbox: written in the transaction of the event, sent later by
    ``notifications.send_pending_notifications`` (``visionhub notifications send``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=Q(sent_at__isnull=True), name="notification_pending"
            )
        ]

    def __str__(self) -> str:
        return self.subject


def resource_type_of(obj: object) -> str:
    types: dict[type, str] = {
        Benchmark: ResourceType.BENCHMARK,
        Site: ResourceType.SITE,
        Flavor: ResourceType.FLAVOR,
        BenchmarkResult: ResourceType.RESULT,
        Claim: ResourceType.CLAIM,
    }
    return str(types[type(obj)])

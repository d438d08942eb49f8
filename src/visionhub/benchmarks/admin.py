from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from visionhub.accounts.models import User
from visionhub.benchmarks import services
from visionhub.benchmarks.models import (
    Benchmark,
    BenchmarkResult,
    Claim,
    Flavor,
    Notification,
    Site,
    Submit,
    Tag,
)
from visionhub.core.errors import ApiError


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin[Benchmark]):
    list_display = ("docker_image", "docker_tag", "status", "uploader", "upload_datetime")
    list_filter = ("status",)
    search_fields = ("docker_image", "docker_tag", "description")
    readonly_fields = ("status", "json_schema", "schema_hash", "upload_datetime", "uploader")


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin[Site]):
    list_display = ("name", "address", "status", "uploader", "upload_datetime")
    list_filter = ("status",)
    search_fields = ("name", "address")
    readonly_fields = ("status", "upload_datetime", "uploader")


@admin.register(Flavor)
class FlavorAdmin(admin.ModelAdmin[Flavor]):
    list_display = ("name", "site", "status", "uploader", "upload_datetime")
    list_filter = ("status",)
    search_fields = ("name", "site__name")
    readonly_fields = ("status", "upload_datetime", "uploader")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    list_display = ("name", "description", "upload_datetime")
    search_fields = ("name",)


@admin.register(BenchmarkResult)
class BenchmarkResultAdmin(admin.ModelAdmin[BenchmarkResult]):
    list_display = ("id", "benchmark", "site", "flavor", "execution_datetime", "deleted", "claimed")
    list_filter = ("deleted", "claimed")
    list_select_related = ("benchmark", "site", "flavor__site")
    raw_id_fields = ("benchmark", "flavor", "site", "uploader")
    readonly_fields = ("json", "claimed", "upload_datetime")


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin[Claim]):
    """Deleting a claim restores its result (``services.delete_claim``), one by one or in bulk."""

    list_display = ("id", "status", "uploader", "upload_datetime")
    list_filter = ("status",)
    readonly_fields = ("status", "benchmark", "site", "flavor", "result", "uploader")

    def delete_model(self, request: HttpRequest, obj: Claim) -> None:
        services.delete_claim(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        for claim in queryset:
            services.delete_claim(claim)


@admin.register(Submit)
class SubmitAdmin(admin.ModelAdmin[Submit]):
    """Approve or reject through the same service as the API (decisions notify people)."""

    list_display = ("id", "status", "upload_datetime", "reviewer", "reviewed_at")
    list_filter = ("status",)
    readonly_fields = (
        "status",
        "benchmark",
        "site",
        "flavor",
        "claim",
        "reviewer",
        "reviewed_at",
        "review_message",
    )
    actions = ["approve", "reject"]

    def _review(self, request: HttpRequest, queryset: QuerySet[Submit], approve: bool) -> None:
        assert isinstance(request.user, User)
        for submit in queryset:
            try:
                services.review_submit(submit, request.user, approve=approve)
            except ApiError as exc:
                self.message_user(request, f"{submit.pk}: {exc.message}", messages.WARNING)

    @admin.action(description="Approve selected submits (uphold claims)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Submit]) -> None:
        self._review(request, queryset, True)

    @admin.action(description="Reject selected submits (dismiss claims)")
    def reject(self, request: HttpRequest, queryset: QuerySet[Submit]) -> None:
        self._review(request, queryset, False)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ("subject", "user", "created", "sent_at", "attempts")
    list_filter = ("sent_at",)
    readonly_fields = ("user", "subject", "body", "created", "sent_at", "attempts", "error")

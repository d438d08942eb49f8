"""Admin of the queue: read-only views of requests, leases, results and workers.

State changes go through ``queue``/``services`` (the cancel action), never through forms:
hand-editing the queue's counters would break its invariants.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from visionhub.inference import queue
from visionhub.inference.models import (
    ClassificationRequest,
    ClassificationResult,
    DispatchToken,
    Worker,
)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClassificationRequest)
class ClassificationRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "deployment",
        "submitter",
        "status",
        "priority",
        "attempts",
        "label",
        "created_at",
        "completed_at",
    )
    list_filter = ("status",)
    list_select_related = ("deployment", "submitter")
    search_fields = ("=id", "image_sha256", "submitter__username", "deployment__name")
    raw_id_fields = ("image", "model_version")
    actions = ["cancel"]

    @admin.action(description="Cancel selected requests (revokes their leases)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[ClassificationRequest]) -> None:
        queue.cancel(list(queryset.values_list("pk", flat=True)))


@admin.register(DispatchToken)
class DispatchTokenAdmin(ReadOnlyAdmin):
    list_display = ("request", "attempt", "user", "worker", "state", "created_at", "expires_at")
    list_filter = ("state",)
    list_select_related = ("user", "worker")
    exclude = ("token_hash",)
    raw_id_fields = ("request",)


@admin.register(ClassificationResult)
class ClassificationResultAdmin(ReadOnlyAdmin):
    list_display = ("request", "attempt", "user", "worker", "label", "accepted", "agreed")
    list_filter = ("accepted", "agreed")
    list_select_related = ("user", "worker")
    raw_id_fields = ("request", "token")


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "owner",
        "version",
        "site",
        "flavor",
        "last_seen",
        "jobs_done",
        "jobs_failed",
        "agreement_rate",
    )
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username", "site", "flavor")

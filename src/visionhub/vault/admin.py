"""Read-only admin of the vault: metadata and the reveal log, never a credential or ciphertext.

Secrets are created and revealed only through the API or CLI, where every reveal is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from visionhub.vault import services
from visionhub.vault.models import Secret, SecretAccess

METADATA = ("owner", "name", "description", "details", "key_id", "created_at", "updated_at")


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin[Secret]):
    list_display = ("name", "owner", "key_id", "created_at", "updated_at")
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username")
    fields = METADATA
    readonly_fields = METADATA

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sealing needs the API or CLI

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Secret) -> None:
        services.delete_secret(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        for secret in queryset:
            services.delete_secret(secret)


@admin.register(SecretAccess)
class SecretAccessAdmin(admin.ModelAdmin[SecretAccess]):
    list_display = ("secret", "username", "at", "ip", "user_agent")
    list_select_related = ("secret",)
    search_fields = ("secret__name", "username")
    fields = ("secret", "username", "at", "ip", "user_agent")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit log is append-only

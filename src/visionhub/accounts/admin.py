from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from visionhub.accounts import services
from visionhub.accounts.models import ApiToken, Identity, User


@admin.register(User)
class VisionHubUserAdmin(UserAdmin[User]):
    list_display = ("username", "email", "is_staff", "is_worker", "is_active", "date_joined")
    list_filter = ("is_staff", "is_worker", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("VisionHub", {"fields": ("is_worker",)}))
    actions = ["ban", "unban"]

    @admin.action(description="Ban selected users (revokes all their tokens)")
    def ban(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.ban_user(user)

    @admin.action(description="Unban selected users")
    def unban(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.unban_user(user)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    exclude = ("key_hash",)
    search_fields = ("user__username", "name", "prefix")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tokens are issued by the CLI or the API, which show the secret once


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin[Identity]):
    list_display = ("user", "issuer", "subject", "email", "last_login")
    search_fields = ("user__username", "subject", "email")

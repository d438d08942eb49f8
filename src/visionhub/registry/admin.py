"""Admin pages of the registry. Deletions go through the services, which reclaim blobs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from visionhub.registry.models import (
    BuildVersion,
    Deployment,
    DeploymentRevision,
    ModelDefinition,
    ModelFile,
    ModelMember,
    ModelVersion,
    Project,
    Training,
)
from visionhub.registry.services import definitions, versions


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ModelFileInline(ReadOnlyInline):
    model = ModelFile
    fields = ("name", "sha256", "size")


class ModelMemberInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ModelMember
    extra = 0
    raw_id_fields = ("user",)


class RevisionInline(ReadOnlyInline):
    model = DeploymentRevision
    fields = ("created_at", "model_ref", "replication", "quorum", "changed_by")
    readonly_fields = ("created_at",)


@admin.register(ModelDefinition)
class ModelDefinitionAdmin(admin.ModelAdmin[ModelDefinition]):
    list_display = ("name", "owner", "task", "created_at", "updated_at")
    list_filter = ("task",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
    inlines = [ModelMemberInline]

    def delete_model(self, request: HttpRequest, obj: ModelDefinition) -> None:
        definitions.delete_definition(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ModelDefinition]) -> None:
        for definition in queryset:
            definitions.delete_definition(definition)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = ("definition", "version", "name", "uploaded_by", "uploaded_on")
    search_fields = ("definition__name", "name")
    list_select_related = ("definition", "uploaded_by")
    readonly_fields = (
        "definition",
        "version",
        "uploaded_by",
        "uploaded_on",
        "pretrained_ref",
        "dataset_snapshot",
        "training_snapshot",
        "lineage_snapshot",
    )
    raw_id_fields = ("dataset", "training", "pretrained")
    inlines = [ModelFileInline]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # versions are uploaded through the API or the CLI

    def delete_model(self, request: HttpRequest, obj: ModelVersion) -> None:
        versions.delete_version(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset:
            versions.delete_version(version)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin[Project]):
    list_display = ("name", "owner", "git_repo", "docker_repo", "created_at")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)


@admin.register(BuildVersion)
class BuildVersionAdmin(admin.ModelAdmin[BuildVersion]):
    list_display = ("project", "tag", "built_from", "built_at", "git_version")
    list_filter = ("built_from",)
    search_fields = ("tag", "project__name")


@admin.register(Training)
class TrainingAdmin(admin.ModelAdmin[Training]):
    list_display = ("id", "name", "owner", "state", "progress", "start_time", "update_time")
    list_filter = ("state",)
    search_fields = ("name", "owner__username")
    # State and progress only move through the rules of services.trainings.
    readonly_fields = ("state", "progress", "start_time", "update_time")
    raw_id_fields = ("owner", "project", "build_version")


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin[Deployment]):
    list_display = ("name", "owner", "model_version", "replication", "quorum", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "owner__username")
    list_select_related = ("owner", "model_version__definition")
    # Rollouts are recorded in the history by the service: change the version via API or CLI.
    readonly_fields = ("model_version", "replication", "quorum", "created_at", "updated_at")
    raw_id_fields = ("owner", "project")
    inlines = [RevisionInline]

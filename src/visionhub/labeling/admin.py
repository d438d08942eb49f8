"""Admin pages for labeling projects: browse and inspect; QA goes through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from visionhub.core.errors import ApiError
from visionhub.labeling.models import LabelProject, LabelTask, ProjectRole, TaskRole
from visionhub.labeling.services import projects, tasks


class ProjectRoleInline(admin.TabularInline[ProjectRole, LabelProject]):
    model = ProjectRole
    raw_id_fields = ("user",)
    extra = 0


@admin.register(LabelProject)
class LabelProjectAdmin(admin.ModelAdmin[LabelProject]):
    list_display = ("name", "owner", "status", "task_num_total", "task_num_accepted", "created_ts")
    list_filter = ("status",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner",)
    filter_horizontal = ("datasets",)
    readonly_fields = (
        "status", "batch_size", "label_times", "review_times", "task_num_total",
        "task_num_waiting", "task_num_working", "task_num_reviewing", "task_num_rejected",
        "task_num_accepted", "progress", "error", "export_report",
    )  # fmt: skip
    inlines = [ProjectRoleInline]
    actions = ["accept_projects", "reject_projects"]

    def _qa(self, request: HttpRequest, queryset: QuerySet[LabelProject], action: str) -> None:
        for project in queryset:
            try:
                projects.qa_project(project, action)
            except ApiError as exc:
                self.message_user(request, f"{project}: {exc.message}", messages.ERROR)

    @admin.action(description="Accept the selected projects (QA)")
    def accept_projects(self, request: HttpRequest, queryset: QuerySet[LabelProject]) -> None:
        self._qa(request, queryset, "accept")

    @admin.action(description="Reject the selected projects (QA)")
    def reject_projects(self, request: HttpRequest, queryset: QuerySet[LabelProject]) -> None:
        self._qa(request, queryset, "reject")


class TaskRoleInline(admin.TabularInline[TaskRole, LabelTask]):
    model = TaskRole
    raw_id_fields = ("user", "project")
    readonly_fields = (
        "label_num_waiting", "review_num_waiting", "review_num_rejected", "review_num_accepted",
        "label_completed", "review_completed",
    )  # fmt: skip
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: LabelTask | None = None) -> bool:
        return False  # roles are set through the services (counters and image statuses)


@admin.register(LabelTask)
class LabelTaskAdmin(admin.ModelAdmin[LabelTask]):
    list_display = ("id", "project", "dataset", "idx", "num_total", "status")
    list_filter = ("status",)
    raw_id_fields = ("project", "dataset")
    readonly_fields = ("status", "num_total")
    inlines = [TaskRoleInline]
    actions = ["accept_tasks", "reject_tasks"]

    def _qa(self, request: HttpRequest, queryset: QuerySet[LabelTask], action: str) -> None:
        for task in queryset:
            try:
                tasks.qa_task(task, action)
            except ApiError as exc:
                self.message_user(request, f"{task}: {exc.message}", messages.ERROR)

    @admin.action(description="Accept the selected tasks (QA)")
    def accept_tasks(self, request: HttpRequest, queryset: QuerySet[LabelTask]) -> None:
        self._qa(request, queryset, "accept")

    @admin.action(description="Reject the selected tasks (QA)")
    def reject_tasks(self, request: HttpRequest, queryset: QuerySet[LabelTask]) -> None:
        self._qa(request, queryset, "reject")

from __future__ import annotations

from django.contrib import admin

from visionhub.evaluation.models import Evaluation


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin[Evaluation]):
    list_display = ("id", "dataset", "gt", "pred", "iou_type", "status", "progress", "created_at")
    list_filter = ("status", "iou_type")
    readonly_fields = ("metrics", "error", "task_id", "started_at", "finished_at")
    raw_id_fields = ("dataset", "gt", "pred", "created_by")

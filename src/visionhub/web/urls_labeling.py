"""The labeling pages' routes, mounted under ``/labeling/`` by ``web.urls``."""

from __future__ import annotations

from django.urls import URLPattern, path

from visionhub.web.views import labeling as v

T = "tasks/<int:task_id>"
IMAGE = f"{T}/images/<int:task_image_id>"

urlpatterns: list[URLPattern] = [
    path("", v.project_list, name="label-projects"),
    path("new/", v.project_create, name="label-project-create"),
    path("projects/<int:project_id>/", v.project_detail, name="label-project"),
    path("projects/<int:project_id>/init/", v.project_init, name="label-project-init"),
    path("projects/<int:project_id>/qa/", v.project_qa, name="label-project-qa"),
    path("projects/<int:project_id>/export/", v.project_export, name="label-project-export"),
    path(f"{T}/", v.task_detail, name="label-task"),
    path(f"{T}/team/", v.task_team, name="label-task-team"),
    path(f"{T}/qa/", v.task_qa, name="label-task-qa"),
    path(f"{T}/label/", v.label_workspace, name="label-label-next"),
    path(f"{T}/label/<int:task_image_id>/", v.label_workspace, name="label-label"),
    path(f"{T}/review/", v.review_workspace, name="label-review-next"),
    path(f"{T}/review/<int:task_image_id>/", v.review_workspace, name="label-review"),
    path(f"{IMAGE}/content", v.image_content, name="label-image"),
    path(f"{IMAGE}/label", v.save_label, name="label-save"),
    path(f"{IMAGE}/reviews", v.save_review, name="label-review-save"),
]

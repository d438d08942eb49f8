from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from visionhub.api.main import api

admin.site.site_header = "VisionHub administration"
admin.site.site_title = "VisionHub"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("visionhub.web.urls")),
]

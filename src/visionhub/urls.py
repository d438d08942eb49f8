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

handler400 = "visionhub.web.views.errors.bad_request"
handler403 = "visionhub.web.views.errors.permission_denied"
handler404 = "visionhub.web.views.errors.not_found"
handler500 = "visionhub.web.views.errors.server_error"

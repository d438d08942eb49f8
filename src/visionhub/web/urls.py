"""The pages, mounted at ``/`` (the API stays at ``/api/v1/``, the admin at ``/admin/``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "web"

urlpatterns: list[URLPattern | URLResolver] = []

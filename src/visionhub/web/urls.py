"""The pages, mounted at ``/`` (the API stays at ``/api/v1/``, the admin at ``/admin/``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from visionhub.web.views import auth, home, oidc

app_name = "web"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", home.home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("login/oidc/<int:index>/", oidc.start, name="oidc-start"),
    path("login/oidc/callback/", oidc.callback, name="oidc-callback"),
]

"""Signing in and out of the pages: password (throttled, as the API's login) and sessions."""

from __future__ import annotations

from django.contrib.auth import login as session_login
from django.contrib.auth import logout as session_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.views.decorators.http import require_http_methods, require_POST

from visionhub.accounts import services
from visionhub.accounts.models import User
from visionhub.core.errors import TooManyRequests, Unauthorized
from visionhub.web.middleware import public
from visionhub.web.views import local_url

BACKEND = "django.contrib.auth.backends.ModelBackend"


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after signing in: a path of this site, never another one."""
    return local_url(request, candidate, resolve_url("web:home"))


def start_session(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """Sign ``user`` in on this browser (a new session id: no fixation) and go on."""
    session_login(request, user, backend=BACKEND)
    return HttpResponseRedirect(next_url)


def _providers() -> list[dict[str, object]]:
    from visionhub.web.views.oidc import providers

    return providers()


@public
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET" and request.user.is_authenticated:
        return HttpResponseRedirect(next_url)
    context: dict[str, object] = {"next": next_url, "username": "", "providers": _providers()}
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "")
        context["username"] = username
        try:
            user = services.check_password(
                username,
                request.POST.get("password", ""),
                address=request.META.get("REMOTE_ADDR", ""),
            )
        except Unauthorized:
            context["error"] = "Wrong username or password."
            status = 401
        except TooManyRequests as exc:
            context["error"] = f"Too many failed sign-ins: {exc.message.split(': ', 1)[-1]}."
            status = 429
        else:
            return start_session(request, user, next_url)
    return render(request, "web/auth/login.html", context, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    session_logout(request)
    return HttpResponseRedirect(resolve_url("web:login"))

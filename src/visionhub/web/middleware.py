"""Middleware of the web UI: security headers, sign-in required, and errors as pages.

``SecurityHeadersMiddleware`` gives every HTML answer a Content-Security-Policy that allows
scripts, styles, images and connections from this server only: no inline script, no inline
event handler, no third-party origin (the pages' JavaScript is our own ES modules).

``SignedInMiddleware`` guards every view of the ``web`` namespace: someone not signed in is sent
to the login page (views marked ``public`` are the exception), a banned user's session ends at
their next request, and a typed error raised by ``access`` or a service becomes the UI's error
page with the same status (a stranger's dataset is the 404 page, as in the API).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from visionhub.core.errors import ApiError

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # data: and blob: for canvases exported as images and masks decoded in the browser.
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

View = TypeVar("View", bound=Callable[..., Any])


def public(view: View) -> View:
    """Mark a page that needs no sign-in (the login page, the OIDC callback)."""
    view.visionhub_public = True  # type: ignore[attr-defined]
    return view


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


def _in_web(request: HttpRequest) -> bool:
    match = request.resolver_match
    return match is not None and match.app_name == "web"


class SignedInMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # AuthenticationMiddleware already treats an inactive user as anonymous; the session
        # that still names them is ended here so that nothing of it outlives the ban.
        if not request.user.is_authenticated and SESSION_KEY in request.session:
            logout(request)
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if not _in_web(request) or getattr(view, "visionhub_public", False):
            return None
        if request.user.is_authenticated:
            return None
        return redirect_to_login(request.get_full_path())

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApiError) or not _in_web(request):
            return None
        from visionhub.web.views.errors import error_page

        return error_page(request, exception.status, exception.message)

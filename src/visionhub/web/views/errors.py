"""The UI's error pages: 400, 403, 404 and 500 in its style, and the CSRF refusal.

Django calls the ``handler*`` views for errors outside any view; ``SignedInMiddleware`` calls
``error_page`` for the typed errors that ``access`` and the services raise inside one.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Not accepted",
    429: "Too many requests",
    500: "Something went wrong",
}

EXPLANATIONS = {
    403: "You may see this, but not change it.",
    404: "There is nothing here, or nothing that you may see.",
    500: "The server failed to answer. The error is logged; try again later.",
}


def error_page(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    context = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "message": message or EXPLANATIONS.get(status, ""),
    }
    html = render_to_string("web/errors/error.html", context, request=request)
    return HttpResponse(html, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: whatever failed may fail again while rendering the navigation.
    html = render_to_string(
        "web/errors/error.html",
        {"status": 500, "title": TITLES[500], "message": EXPLANATIONS[500], "bare": True},
    )
    return HttpResponse(html, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_page(
        request, 403, "The form had expired or came from another site. Reload the page and retry."
    )

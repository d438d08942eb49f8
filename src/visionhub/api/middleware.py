"""Gives the error envelope to responses that never reached a ninja handler.

Django answers unknown paths (404), wrong methods (405) and some body errors before or outside
the API's exception handlers; API clients must still see ``{"error": {...}}``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    500: "internal_error",
}


class ErrorEnvelopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith("/api/")
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        code = CODES.get(status, "http_error")
        details: dict[str, object] = {}
        if status == 405 and response.has_header("Allow"):
            details["allowed"] = [m.strip() for m in response["Allow"].split(",")]
        wrapped = JsonResponse(
            {"error": {"code": code, "message": code.replace("_", " "), "details": details}},
            status=status,
        )
        if response.has_header("Allow"):
            wrapped["Allow"] = response["Allow"]
        return wrapped

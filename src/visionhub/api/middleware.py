"""Middleware of the API.

``ErrorEnvelopeMiddleware`` gives the error envelope to responses that never reached a ninja
handler: Django answers unknown paths (404), wrong methods (405) and some body errors before or
outside the API's exception handlers; API clients must still see ``{"error": {...}}``.

``StorableTextMiddleware`` refuses text no database can store (``core.text``) wherever a
client puts it in a request line or a JSON body, before any handler runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from visionhub.core.errors import ApiError
from visionhub.core.text import NUL, check_json_values

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


def _error(error: ApiError) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=error.status)


class StorableTextMiddleware:
    """400 ``invalid_text`` for a NUL character in the path or a query parameter, 422
    ``invalid_json_value`` (with its ``details.path``) for one in a JSON body: PostgreSQL
    cannot store it, SQLite would; refused the same on both. A JSON body is only decoded here
    when its bytes hold the escape ``\\u0000`` (a NUL can only be written so in JSON)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            error = self._refusal(request)
            if error is not None:
                return _error(error)
        return self.get_response(request)

    @staticmethod
    def _refusal(request: HttpRequest) -> ApiError | None:
        if NUL in request.path:
            return ApiError("invalid_text", "the path holds a NUL character")
        for name, values in request.GET.lists():
            if NUL in name or any(NUL in value for value in values):
                return ApiError(
                    "invalid_text",
                    "a query parameter holds a NUL character",
                    details={"parameter": name.replace(NUL, "\\u0000")},
                )
        if request.content_type != "application/json":
            return None
        try:
            body = request.body
        except RequestDataTooBig:
            return None  # the handler answers 413
        if b"\\u0000" not in body:
            return None
        try:
            document: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None  # the handler answers invalid_json
        try:
            check_json_values(document)
        except ApiError as exc:
            return exc
        return None

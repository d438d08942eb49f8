"""Middleware of the API.

``ErrorEnvelopeMiddleware`` gives the error envelope to responses that never reached a ninja
handler: Django answers unknown paths (404), wrong methods (405) and some body errors before or
outside the API's exception handlers; API clients must still see ``{"error": {...}}``.

``StorableTextMiddleware`` refuses text no database can store (``core.text``) wherever a
client puts it in a request line or a JSON body, before any handler runs, and JSON bodies that
are not strict JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from visionhub.core.errors import ApiError
from visionhub.core.text import invalid_json, parse_json, storable_text_problem

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


# JSON bodies up to this size are decoded here whole (about 2 ms a MiB), so every key and value
# is checked; larger ones (bulk annotations) only when their bytes hold an escape that could
# decode to NUL or a surrogate, and their typed decoders bound the rest.
CHECKED_JSON_BYTES = 1024 * 1024
_SUSPICIOUS_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class StorableTextMiddleware:
    """Refuses text no database can store (``core.text``) wherever a client puts it, before any
    handler runs: 400 ``invalid_text`` for a NUL or a lone surrogate (or its JSON escape) in
    the path or a query parameter; for a JSON body, 400 ``invalid_json`` when it is not strict
    JSON (UTF-8, no lone surrogates, finite numbers) and 422 ``invalid_json_value`` (with its
    ``details.path``) for a NUL or nesting past ``MAX_JSON_DEPTH``."""

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
        problem = storable_text_problem(request.path)
        if problem is not None:
            return ApiError("invalid_text", f"the path holds {problem}")
        for name, values in request.GET.lists():
            for text in (name, *values):
                problem = storable_text_problem(text)
                if problem is not None:
                    return ApiError(
                        "invalid_text",
                        f"a query parameter holds {problem}",
                        details={"parameter": name.encode("ascii", "backslashreplace").decode()},
                    )
        if request.content_type != "application/json":
            return None
        try:
            body = request.body
        except RequestDataTooBig:
            return None  # the handler answers 413
        if not body.strip():
            return None  # the handler says what is missing
        if len(body) > CHECKED_JSON_BYTES and not _SUSPICIOUS_ESCAPE.search(body):
            try:
                body.decode()
            except UnicodeDecodeError as exc:
                return invalid_json(exc)
            return None
        try:
            parse_json(body)
        except ApiError as exc:
            return exc
        except ValueError as exc:
            return invalid_json(exc)
        return None

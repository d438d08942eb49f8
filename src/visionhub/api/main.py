"""The one NinjaAPI: mounts every app's router under /api/v1 and owns the error envelope."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, DataError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from visionhub import __version__
from visionhub.accounts.api import router as accounts_router
from visionhub.accounts.auth import bearer
from visionhub.api.openapi import VisionHubAPI
from visionhub.benchmarks.api import router as benchmarks_router
from visionhub.core.errors import ApiError
from visionhub.datasets.api import router as datasets_router
from visionhub.evaluation.api import router as evaluation_router
from visionhub.inference.api import router as inference_router
from visionhub.labeling.api import router as labeling_router
from visionhub.registry.api import router as registry_router
from visionhub.storage.api import router as storage_router
from visionhub.vault.api import router as vault_router

log = logging.getLogger(__name__)

api = VisionHubAPI(
    title="VisionHub API",
    version="1",
    description="Datasets, model registry, distributed classification and benchmarks.",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=bearer,
)

for router in (
    accounts_router,
    storage_router,
    datasets_router,
    registry_router,
    vault_router,
    inference_router,
    benchmarks_router,
    labeling_router,
    evaluation_router,
):
    api.add_router("", router)


class HealthOut(Schema):
    status: str
    version: str


@api.get("/health", auth=None, response={200: HealthOut, 503: HealthOut}, tags=["health"])
def health(request: HttpRequest) -> Status[HealthOut]:
    try:
        connection.ensure_connection()
    except DatabaseError:
        log.exception("health check: database unreachable")
        return Status(503, HealthOut(status="database_unavailable", version=__version__))
    return Status(200, HealthOut(status="ok", version=__version__))


def envelope(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": code, "message": message, "details": details or {}}},
        status=status,
    )


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return envelope(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors
    ]
    return envelope(
        request, 422, "validation_error", "the request is not valid", {"errors": errors}
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = envelope(request, 401, "unauthorized", "a valid bearer token is required")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    if exc.status_code == 400 and "parse request body" in message:
        return envelope(request, 400, "invalid_json", "the request body is not valid JSON")
    return envelope(request, exc.status_code, "http_error", message)


@api.exception_handler(Http404)
def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return envelope(request, 404, "not_found", "not found")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return envelope(request, 413, "request_too_large", "the request body is too large")


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # No boundary, a part header past Django's 1,024 bytes, a truncated body: the client's
    # body, whichever endpoint parses it.
    return envelope(
        request, 400, "invalid_multipart", "the multipart body is malformed", {"reason": str(exc)}
    )


@api.exception_handler(TooManyFieldsSent)
def on_too_many_fields(request: HttpRequest, exc: TooManyFieldsSent) -> HttpResponse:
    return envelope(request, 413, "request_too_large", "the request has too many fields")


@api.exception_handler(OperationalError)
def on_database_busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    # A lock timeout or deadlock under load is transient: say so, and let clients retry
    # (the worker and the client back off on 503) instead of reporting a server fault.
    log.warning("database busy on %s %s: %s", request.method, request.path, exc)
    response = envelope(request, 503, "database_busy", "the database is busy; retry shortly")
    response["Retry-After"] = "1"
    return response


@api.exception_handler(DataError)
def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    # What StorableTextMiddleware cannot see before the handler (a multipart form field) and
    # PostgreSQL refuses: text with NUL. The service's transaction is rolled back already.
    if "NUL" in str(exc) or "\\u0000" in str(exc):
        return envelope(request, 400, "invalid_text", "text may not hold NUL characters")
    if "value too long" in str(exc):  # a column's max_length that a schema did not check
        return envelope(request, 422, "text_too_long", "a text value is longer than allowed")
    return on_unexpected(request, exc)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return envelope(request, 500, "internal_error", "an unexpected error occurred")

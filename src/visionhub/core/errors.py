"""Typed API errors with stable codes.

Services raise these; ``visionhub.api.main`` turns every one into
``{"error": {"code": ..., "message": ..., "details": {...}}}`` with the given status.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error a client can act on: a stable ``code``, a human ``message`` and ``details``."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.code = code or type(self).code
        self.message = message or self.code.replace("_", " ")
        if status is not None:
            self.status = status
        self.details = details or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(ApiError):
    """Missing and forbidden look the same to the caller."""

    status = 404
    code = "not_found"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Invalid(ApiError):
    status = 422
    code = "validation_error"


class TooLarge(ApiError):
    status = 413
    code = "too_large"


class TooManyRequests(ApiError):
    status = 429
    code = "too_many_requests"

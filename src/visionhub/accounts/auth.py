"""Bearer-token authentication for the ninja API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from visionhub.accounts import services
from visionhub.accounts.models import User


class BearerAuth(HttpBearer):
    """Accepts VisionHub API tokens and, when configured, OIDC access tokens (JWT).

    On success sets ``request.user`` and ``request.api_token`` (None for OIDC) and returns the
    user, which ninja stores as ``request.auth``.
    """

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = services.token_user(token)
        if found is not None:
            user, api_token = found
            request.user = user
            request.api_token = api_token  # type: ignore[attr-defined]
            return user
        if settings.OIDC_ISSUERS and token.count(".") == 2:
            from visionhub.accounts import oidc

            oidc_user = oidc.authenticate_jwt(token)
            if oidc_user is not None:
                request.user = oidc_user
                request.api_token = None  # type: ignore[attr-defined]
                return oidc_user
        return None


bearer = BearerAuth()


def current_user(request: HttpRequest) -> User:
    """The authenticated caller of an endpoint protected by ``bearer``."""
    user: Any = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user

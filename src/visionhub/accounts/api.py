from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Router, Status

from visionhub.accounts import services
from visionhub.accounts.auth import bearer, current_user
from visionhub.accounts.models import ApiToken, User
from visionhub.accounts.schemas import (
    LoginIn,
    TokenCreateIn,
    TokenInfoOut,
    TokenOut,
    UserOut,
)
from visionhub.core.errors import Invalid, NotFound
from visionhub.core.pagination import Page, PageResult, paginate

router = Router(tags=["accounts"])


def _request_token(request: HttpRequest) -> ApiToken:
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is None:
        raise Invalid("not_a_visionhub_token", "this call needs a VisionHub API token")
    return token


@router.post("/auth/login", auth=None, response=TokenOut)
def login(request: HttpRequest, body: LoginIn) -> TokenOut:
    issued = services.login(
        body.username, body.password, address=request.META.get("REMOTE_ADDR", "")
    )
    return TokenOut(token=issued.secret, expires_at=issued.token.expires_at)


@router.post("/auth/logout", auth=bearer, response={204: None})
def logout(request: HttpRequest) -> Status[None]:
    services.logout(_request_token(request))
    return Status(204, None)


@router.post("/auth/refresh", auth=bearer, response=TokenOut)
def refresh(request: HttpRequest) -> TokenOut:
    token = _request_token(request)
    expires_at = services.refresh(token)
    header = request.headers.get("Authorization", "")
    return TokenOut(token=header.partition(" ")[2].strip(), expires_at=expires_at)


@router.get("/users/me", auth=bearer, response=UserOut)
def me(request: HttpRequest) -> User:
    return current_user(request)


@router.get("/users/me/tokens", auth=bearer, response=Page[TokenInfoOut])
def list_tokens(
    request: HttpRequest, limit: int = 100, cursor: str | None = None
) -> PageResult[ApiToken]:
    return paginate(ApiToken.objects.filter(user=current_user(request)), cursor=cursor, limit=limit)


@router.post("/users/me/tokens", auth=bearer, response={201: TokenOut})
def create_token(request: HttpRequest, body: TokenCreateIn) -> Status[TokenOut]:
    if body.expires_days is not None and body.expires_days < 1:
        raise Invalid("invalid_expiry", "expires_days must be at least 1")
    issued = services.issue_token(
        current_user(request),
        name=body.name,
        expires_in=timedelta(days=body.expires_days) if body.expires_days else None,
    )
    return Status(201, TokenOut(token=issued.secret, expires_at=issued.token.expires_at))


@router.delete("/users/me/tokens/{token_id}", auth=bearer, response={204: None})
def delete_token(request: HttpRequest, token_id: int) -> Status[None]:
    token = ApiToken.objects.filter(pk=token_id, user=current_user(request)).first()
    if token is None:
        raise NotFound("token_not_found", "no such token")
    services.revoke_token(token)
    return Status(204, None)

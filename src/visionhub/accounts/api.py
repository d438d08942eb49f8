from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Query, Router, Status

from visionhub.accounts import access, services
from visionhub.accounts.auth import bearer, current_user
from visionhub.accounts.models import ApiToken, User
from visionhub.accounts.schemas import (
    LoginIn,
    PasswordChangeIn,
    PasswordResetOut,
    StaffUserOut,
    TermsIn,
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


# --- people (seed 004's user operations, seed 002's user list) ------------------------------


@router.post("/users/me/password", auth=bearer, response={204: None})
def change_password(request: HttpRequest, body: PasswordChangeIn) -> Status[None]:
    services.change_password(
        current_user(request), old_password=body.old_password, new_password=body.new_password
    )
    return Status(204, None)


@router.get("/users", auth=bearer, response=Page[StaffUserOut])
def list_users(
    request: HttpRequest, search: str | None = None, limit: int = 100, cursor: str | None = None
) -> PageResult[User]:
    """Staff only: every user, by username; ``search`` holds in the username or e-mail."""
    qs = access.users_for_staff(current_user(request))
    if search:
        qs = qs.filter(access.user_terms([search]))
    return paginate(qs, order_by=("username", "id"), cursor=cursor, limit=limit)


@router.get("/users/search", auth=bearer, response=Page[StaffUserOut])
def search_users(
    request: HttpRequest, terms: Query[TermsIn], limit: int = 100, cursor: str | None = None
) -> PageResult[User]:
    """Staff only (seed 002's ``/users:search``): users holding every term in the username or
    e-mail."""
    qs = access.users_for_staff(current_user(request)).filter(access.user_terms(terms.terms))
    return paginate(qs, order_by=("username", "id"), cursor=cursor, limit=limit)


@router.delete("/users/{username}", auth=bearer, response={204: None})
def delete_user(request: HttpRequest, username: str) -> Status[None]:
    by = current_user(request)
    services.delete_user(access.user_for_staff(by, username), by=by)
    return Status(204, None)


@router.post("/users/{username}/reset-password", auth=bearer, response=PasswordResetOut)
def reset_password(request: HttpRequest, username: str) -> PasswordResetOut:
    """Staff only: a new random password, in this answer only."""
    by = current_user(request)
    target = access.user_for_staff(by, username)
    return PasswordResetOut(
        username=target.username, password=services.reset_password(target, by=by)
    )

"""``/vault/secrets``: metadata everywhere, credentials only from ``…/reveal`` (owner or staff).

Every endpoint takes ``?owner=USERNAME`` so staff can address anyone's vault; for everyone else
another owner's vault does not exist (404).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from pydantic import SecretStr

from visionhub.accounts.auth import current_user
from visionhub.core.pagination import Page, PageResult, paginate
from visionhub.vault import access, services
from visionhub.vault.crypto import Sensitive
from visionhub.vault.models import Secret, SecretAccess
from visionhub.vault.schemas import AccessOut, RevealOut, SecretIn, SecretOut, SecretPatch

router = Router(tags=["vault"])


def _sensitive(value: SecretStr | None) -> Sensitive | None:
    return None if value is None else Sensitive(value.get_secret_value())


@router.post("/vault/secrets", response={201: SecretOut})
def create_secret(request: HttpRequest, body: SecretIn) -> Status[Secret]:
    secret = services.create_secret(
        current_user(request),
        name=body.name,
        username=Sensitive(body.username.get_secret_value()),
        password=Sensitive(body.password.get_secret_value()),
        description=body.description,
        details=body.details,
    )
    return Status(201, secret)


@router.get("/vault/secrets", response=Page[SecretOut])
def list_secrets(
    request: HttpRequest, owner: str | None = None, limit: int = 100, cursor: str | None = None
) -> PageResult[Secret]:
    target = access.vault_owner(current_user(request), owner)
    qs = Secret.objects.select_related("owner").filter(owner=target)
    return paginate(qs, order_by=("name",), cursor=cursor, limit=limit)


@router.get("/vault/secrets/{name}", response=SecretOut)
def get_secret(request: HttpRequest, name: str, owner: str | None = None) -> Secret:
    return access.get_secret(current_user(request), name, owner)


@router.patch("/vault/secrets/{name}", response=SecretOut)
def update_secret(
    request: HttpRequest, name: str, body: SecretPatch, owner: str | None = None
) -> Secret:
    secret = access.get_secret(current_user(request), name, owner)
    return services.update_secret(
        secret,
        description=body.description,
        details=body.details,
        username=_sensitive(body.username),
        password=_sensitive(body.password),
    )


@router.delete("/vault/secrets/{name}", response={204: None})
def delete_secret(request: HttpRequest, name: str, owner: str | None = None) -> Status[None]:
    services.delete_secret(access.get_secret(current_user(request), name, owner))
    return Status(204, None)


@router.post("/vault/secrets/{name}/reveal", response=RevealOut)
def reveal_secret(
    request: HttpRequest, response: HttpResponse, name: str, owner: str | None = None
) -> RevealOut:
    user = current_user(request)
    revealed = services.reveal_secret(
        access.get_secret(user, name, owner),
        by=user,
        ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.headers.get("User-Agent", ""),
    )
    response["Cache-Control"] = "no-store"
    return RevealOut(
        name=revealed.name,
        username=revealed.credentials.username.reveal(),
        password=revealed.credentials.password.reveal(),
    )


@router.get("/vault/secrets/{name}/audit", response=Page[AccessOut])
def secret_audit(
    request: HttpRequest,
    name: str,
    owner: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> PageResult[SecretAccess]:
    secret = access.get_secret(current_user(request), name, owner)
    return paginate(
        SecretAccess.objects.filter(secret=secret), order_by=("-id",), cursor=cursor, limit=limit
    )

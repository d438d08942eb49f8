"""Vault schemas. Credentials come in as ``SecretStr`` and go out only in ``RevealOut``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import SecretStr

from visionhub.core.text import LongText
from visionhub.vault.models import Secret


class SecretIn(Schema):
    name: str
    description: LongText = ""
    username: SecretStr = SecretStr("")
    password: SecretStr
    details: dict[str, Any] = {}


class SecretPatch(Schema):
    description: LongText | None = None
    details: dict[str, Any] | None = None
    username: SecretStr | None = None
    password: SecretStr | None = None


class SecretOut(Schema):
    """Metadata only: never the username or the password."""

    name: str
    owner: str
    description: str
    details: dict[str, Any]
    key_id: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj: Secret) -> str:
        return obj.owner.username


class RevealOut(Schema):
    name: str
    username: str
    password: str


class AccessOut(Schema):
    id: int
    username: str
    at: datetime
    ip: str | None
    user_agent: str

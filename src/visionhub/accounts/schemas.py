from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, model_validator


class LoginIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str
    expires_at: datetime | None


class UserOut(Schema):
    id: int
    username: str
    email: str
    is_staff: bool
    is_worker: bool
    date_joined: datetime


class StaffUserOut(Schema):
    """A user as staff see them (the e-mail address is for staff only)."""

    id: int
    username: str
    email: str
    is_staff: bool
    is_worker: bool
    is_active: bool
    date_joined: datetime
    last_login: datetime | None


class PasswordChangeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


class PasswordResetOut(Schema):
    username: str
    password: str


class TermsIn(Schema):
    terms: list[str] = []


class TokenCreateIn(Schema):
    name: str = "default"
    expires_days: int | None = None


class TokenInfoOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class MemberIn(Schema):
    """A member of a dataset, model or deployment. ``role`` is the name the registry's
    clients used for ``access``; either may be given."""

    username: str
    access: Literal["read", "write"] | None = None
    role: Literal["read", "write"] | None = None

    @model_validator(mode="after")
    def _one_access(self) -> MemberIn:
        if self.access and self.role and self.access != self.role:
            raise ValueError("give access or role, not two different values")
        return self

    @property
    def level(self) -> str:
        return self.access or self.role or "read"


class MemberOut(Schema):
    """``role`` repeats ``access`` for the registry's clients."""

    username: str
    access: str
    role: str
    created_at: datetime

    @staticmethod
    def resolve_username(obj: Any) -> str:
        return str(obj.user.username)

    @staticmethod
    def resolve_role(obj: Any) -> str:
        return str(obj.access)

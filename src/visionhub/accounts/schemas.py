from __future__ import annotations

from datetime import datetime

from ninja import Schema


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

"""Lookups of accounts by what a client names."""

from __future__ import annotations

from visionhub.accounts.models import User
from visionhub.core.errors import NotFound


def get_user_by_username(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound("user_not_found", f"no user {username!r}")
    return user

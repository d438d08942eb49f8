"""Lookups of accounts by what a client names."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q, QuerySet

from visionhub.accounts.models import User
from visionhub.core.errors import Forbidden, Invalid, NotFound

MAX_TERMS = 10


def get_user_by_username(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound("user_not_found", f"no user {username!r}")
    return user


def users_for_staff(user: User) -> QuerySet[User]:
    """Every user, for staff (403 ``admin_only`` for anyone else: users and their e-mail
    addresses are the administrators' to list)."""
    if not user.is_staff:
        raise Forbidden("admin_only", "only administrators list users")
    return User.objects.all()


def user_for_staff(user: User, username: str) -> User:
    """The user ``username`` for a staff caller (403 ``admin_only`` for others, before any
    lookup: a stranger learns nothing of who exists)."""
    users_for_staff(user)
    return get_user_by_username(username)


def user_terms(terms: Sequence[str]) -> Q:
    """Users holding every term in their username or e-mail (case-insensitive)."""
    cleaned = [term.strip() for term in terms if term.strip()]
    if not cleaned or len(cleaned) > MAX_TERMS or any(len(t) > 150 for t in cleaned):
        raise Invalid("invalid_terms", f"give 1 to {MAX_TERMS} search terms of 150 characters")
    condition = Q()
    for term in cleaned:
        condition &= Q(username__icontains=term) | Q(email__icontains=term)
    return condition

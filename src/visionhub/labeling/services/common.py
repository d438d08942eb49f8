"""Small helpers the labeling services share: users named by a client, state checks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid


def users_named(usernames: Sequence[str], *, field: str) -> list[User]:
    """The active users ``usernames``, in that order; 422 ``unknown_user`` naming the missing
    ones, 422 ``duplicate_user`` if one is named twice."""
    if len(set(usernames)) != len(usernames):
        raise Invalid(
            "duplicate_user", f"a user is named twice in {field}", details={"field": field}
        )
    found = {u.username: u for u in User.objects.filter(username__in=usernames, is_active=True)}
    missing = [name for name in usernames if name not in found]
    if missing:
        raise Invalid(
            "unknown_user",
            f"no active user {', '.join(map(repr, missing))}",
            details={"field": field, "usernames": missing},
        )
    return [found[name] for name in usernames]


def require_status(kind: str, status: str, allowed: Iterable[str], action: str) -> None:
    """409 ``<kind>_not_<state>`` when ``status`` is not one of ``allowed``: the code names
    the state the action needs, the details the state the object is in."""
    allowed = list(allowed)
    if status not in allowed:
        raise Conflict(
            f"{kind}_not_{allowed[0]}",
            f"cannot {action}: the {kind} is {status}, not {' or '.join(allowed)}",
            details={"status": status, "allowed": allowed},
        )

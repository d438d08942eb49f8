"""Who may touch which secret: the owner, and staff. Everyone else gets the same 404."""

from __future__ import annotations

from visionhub.accounts.models import User
from visionhub.core.errors import NotFound
from visionhub.vault.models import Secret


def vault_owner(user: User, owner: str | None = None) -> User:
    """The user whose vault ``user`` addresses: their own, or (staff only) ``owner``'s.

    A non-staff caller naming anyone else gets the 404 of an unknown user.
    """
    if owner is None or owner == user.username:
        return user
    target = User.objects.filter(username=owner).first() if user.is_staff else None
    if target is None:
        raise NotFound("owner_not_found", f"no vault of user {owner!r}")
    return target


def get_secret(user: User, name: str, owner: str | None = None) -> Secret:
    """The secret ``name`` in the vault ``user`` addresses; missing and forbidden look the same."""
    secret = (
        Secret.objects.select_related("owner")
        .filter(owner=vault_owner(user, owner), name=name)
        .first()
    )
    if secret is None:
        raise NotFound("secret_not_found", f"no secret {name!r}")
    return secret

"""Every state change of the vault. API, CLI and admin call these; plaintext stays ``Sensitive``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count

from visionhub.accounts.models import User
from visionhub.core.errors import Conflict, Invalid
from visionhub.core.slugs import validate_slug
from visionhub.vault.crypto import (
    Keyring,
    Sensitive,
    VaultCryptoError,
    associated_data,
    configured_keyring,
    seal,
    unseal,
)
from visionhub.vault.models import Secret, SecretAccess

MAX_VALUE_CHARS = 4096
ROTATION_BATCH = 500


@dataclass(frozen=True)
class Credentials:
    """The two encrypted fields of a secret, in plain form."""

    username: Sensitive
    password: Sensitive


@dataclass(frozen=True)
class Revealed:
    name: str
    credentials: Credentials


def _check_value(value: Sensitive, field_name: str, *, required: bool) -> None:
    text = value.reveal()
    if required and not text:
        raise Invalid(
            "invalid_secret", f"{field_name} must not be empty", details={"field": field_name}
        )
    if len(text) > MAX_VALUE_CHARS:
        raise Invalid(
            "invalid_secret",
            f"{field_name} must be at most {MAX_VALUE_CHARS} characters",
            details={"field": field_name},
        )


def _aad(secret: Secret, field_name: str) -> bytes:
    return associated_data(secret.pk, secret.owner_id, secret.name, field_name)


def _seal_into(secret: Secret, credentials: Credentials, keyring: Keyring) -> None:
    key = keyring.current
    secret.username_sealed = seal(key, credentials.username, _aad(secret, "username"))
    secret.password_sealed = seal(key, credentials.password, _aad(secret, "password"))
    secret.key_id = key.key_id


def _credentials(secret: Secret, keyring: Keyring) -> Credentials:
    return Credentials(
        username=unseal(keyring, secret.username_sealed, _aad(secret, "username")),
        password=unseal(keyring, secret.password_sealed, _aad(secret, "password")),
    )


def _open(secret: Secret, keyring: Keyring) -> Credentials:
    """Both values of ``secret``; a value that cannot be opened is a 409, never a 500."""
    try:
        return _credentials(secret, keyring)
    except VaultCryptoError as exc:
        raise Conflict(
            "secret_unreadable",
            f"secret {secret.name!r} cannot be decrypted: it was {exc}",
            details={"key_id": exc.key_id},
        ) from None


def create_secret(
    owner: User,
    *,
    name: str,
    username: Sensitive,
    password: Sensitive,
    description: str = "",
    details: dict[str, Any] | None = None,
) -> Secret:
    """Store a new secret, its credentials sealed under the configured key. Names are unique
    per owner (409 ``secret_exists``); nothing is written if anything fails."""
    validate_slug(name)
    _check_value(username, "username", required=False)
    _check_value(password, "password", required=True)
    try:
        with transaction.atomic():
            # The row id is part of the associated data, so the row exists before it is sealed.
            secret = Secret.objects.create(
                owner=owner, name=name, description=description, details=details or {}
            )
            _seal_into(secret, Credentials(username, password), configured_keyring())
            secret.save(update_fields=["username_sealed", "password_sealed", "key_id"])
    except IntegrityError:
        raise Conflict("secret_exists", f"a secret named {name!r} already exists") from None
    return secret


def update_secret(
    secret: Secret,
    *,
    description: str | None = None,
    details: dict[str, Any] | None = None,
    username: Sensitive | None = None,
    password: Sensitive | None = None,
) -> Secret:
    """Change the given fields. New credentials are sealed, both under the current key."""
    if username is not None:
        _check_value(username, "username", required=False)
    if password is not None:
        _check_value(password, "password", required=True)
    fields = ["updated_at"]
    if description is not None:
        secret.description = description
        fields.append("description")
    if details is not None:
        secret.details = details
        fields.append("details")
    with transaction.atomic():
        if username is not None or password is not None:
            keyring = configured_keyring()
            old = _open(secret, keyring)
            new = Credentials(
                username if username is not None else old.username,
                password if password is not None else old.password,
            )
            _seal_into(secret, new, keyring)
            fields += ["username_sealed", "password_sealed", "key_id"]
        secret.save(update_fields=fields)
    return secret


def delete_secret(secret: Secret) -> None:
    """Delete a secret and its reveal log."""
    secret.delete()


def reveal_secret(
    secret: Secret, *, by: User, ip: str | None = None, user_agent: str = ""
) -> Revealed:
    """Decrypt a secret for ``by``. The reveal is logged first: no log row, no plaintext."""
    with transaction.atomic():
        credentials = _open(secret, configured_keyring())
        SecretAccess.objects.create(
            secret=secret, user=by, username=by.username, ip=ip, user_agent=user_agent[:500]
        )
    return Revealed(name=secret.name, credentials=credentials)


@dataclass
class RotationReport:
    """What a rotation did: rows moved to the new key, and rows it could not open (untouched)."""

    rotated: int = 0
    unreadable: dict[str, int] = field(default_factory=dict)


def rotate_keys(
    keyring: Keyring,
    *,
    batch_size: int = ROTATION_BATCH,
    on_batch: Callable[[int], None] | None = None,
    after_row: Callable[[Secret], None] | None = None,
) -> RotationReport:
    """Re-seal every secret not yet under ``keyring.current`` with that key.

    Rows go in id order, ``batch_size`` per transaction; each row's two values and ``key_id``
    change in one UPDATE. An interruption loses at most the open batch's work, never a secret:
    rows still under an old key are found and rotated by the next run. Rows sealed with a key
    the keyring lacks, or damaged, are left as they are and counted in ``unreadable``.
    ``on_batch(n)`` follows each commit; ``after_row`` each row's uncommitted update.
    """
    report = RotationReport()
    new_id = keyring.current.key_id
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                Secret.objects.select_for_update()
                .filter(id__gt=last_id)
                .exclude(key_id=new_id)
                .order_by("id")[:batch_size]
            )
            if not batch:
                return report
            rotated = 0
            for secret in batch:
                try:
                    credentials = _credentials(secret, keyring)
                except VaultCryptoError as exc:
                    report.unreadable[exc.key_id] = report.unreadable.get(exc.key_id, 0) + 1
                    continue
                _seal_into(secret, credentials, keyring)
                Secret.objects.filter(pk=secret.pk).update(
                    username_sealed=secret.username_sealed,
                    password_sealed=secret.password_sealed,
                    key_id=secret.key_id,
                )
                rotated += 1
                if after_row is not None:
                    after_row(secret)
            last_id = batch[-1].pk
        report.rotated += rotated
        if on_batch is not None:
            on_batch(len(batch))


def key_usage() -> dict[str, int]:
    """How many secrets each key id seals (to check a rotation is complete)."""
    rows = Secret.objects.values("key_id").annotate(n=Count("id")).order_by("key_id")
    return {row["key_id"]: row["n"] for row in rows}

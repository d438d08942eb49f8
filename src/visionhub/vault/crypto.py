"""Encryption of vault values: AES-256-GCM under keys derived from configured key material.

A stored value is a token ``vh1.<key id>.<base64url(nonce || ciphertext || tag)>``: it names
the key that sealed it, so a keyring holding the current and previous keys can open values
sealed before and during a rotation. Each value gets a fresh random 96-bit nonce, and its
associated data binds it to one field of one row, so a ciphertext copied into another row or
field fails to open. Plaintext only ever travels inside ``Sensitive``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

HKDF_INFO: Final = b"visionhub-vault"
SEAL_FORMAT: Final = "vh1"
NONCE_BYTES: Final = 12
MASK: Final = "**********"
MIN_KEY_MATERIAL: Final = 16


@final
class Sensitive:
    """A plaintext secret that prints as a mask in logs, reprs, f-strings and tracebacks.

    ``reveal()`` is the one explicit way to get the value out.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Sensitive({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sensitive):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("Sensitive values cannot be pickled")


class VaultCryptoError(Exception):
    """A stored value cannot be opened. Messages never contain plaintext or key material."""

    def __init__(self, message: str, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


class UnknownKey(VaultCryptoError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"sealed with key {key_id}, which this process does not hold", key_id)


class Tampered(VaultCryptoError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"damaged or moved: it failed its integrity check (key {key_id})", key_id)


@dataclass(frozen=True, repr=False)
class DerivedKey:
    """A 256-bit AES key and its public fingerprint ``key_id``."""

    key: bytes = field(compare=False)
    key_id: str

    def __repr__(self) -> str:
        return f"DerivedKey(key_id={self.key_id!r})"


@sensitive_variables()
def derive_key(material: str) -> DerivedKey:
    """The vault key derived from ``material`` with HKDF-SHA256 (info ``visionhub-vault``).

    The id is a truncated SHA-256 of the derived key under a separate label: it tells keys
    apart and cannot be turned back into the key.
    """
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        material.encode()
    )
    key_id = hashlib.sha256(b"visionhub-vault-key-id:" + key).hexdigest()[:16]
    return DerivedKey(key=key, key_id=key_id)


def configured_key() -> DerivedKey:
    """The key of this process: ``VISIONHUB_VAULT_KEY`` if set, else ``VISIONHUB_SECRET_KEY``."""
    return derive_key(settings.VAULT_KEY or settings.SECRET_KEY)


@dataclass(frozen=True)
class Keyring:
    """Seals with ``current``; opens with whichever of its keys sealed the value."""

    current: DerivedKey
    previous: tuple[DerivedKey, ...] = ()

    def key(self, key_id: str) -> DerivedKey:
        for candidate in (self.current, *self.previous):
            if candidate.key_id == key_id:
                return candidate
        raise UnknownKey(key_id)

    @classmethod
    def of(cls, current: DerivedKey, previous: Iterable[DerivedKey] = ()) -> Keyring:
        seen = {current.key_id}
        others = []
        for key in previous:
            if key.key_id not in seen:
                seen.add(key.key_id)
                others.append(key)
        return cls(current=current, previous=tuple(others))


def configured_keyring() -> Keyring:
    """The server's keyring: the configured key, plus ``settings.VAULT_PREVIOUS_KEYS`` if any."""
    previous = getattr(settings, "VAULT_PREVIOUS_KEYS", None) or ()
    return Keyring.of(configured_key(), (derive_key(m) for m in previous))


def associated_data(secret_id: int, owner_id: int, name: str, field_name: str) -> bytes:
    """Binds a ciphertext to one field of one row: moving it anywhere else breaks the tag."""
    return f"visionhub-vault/v1|{secret_id}|{owner_id}|{name}|{field_name}".encode()


@sensitive_variables()
def seal(key: DerivedKey, plaintext: Sensitive, aad: bytes) -> str:
    """Encrypt ``plaintext`` under ``key`` with a fresh random nonce; returns the storable text."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key.key).encrypt(nonce, plaintext.reveal().encode(), aad)
    body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{SEAL_FORMAT}.{key.key_id}.{body}"


def sealed_key_id(token: str) -> str:
    """The id of the key that sealed ``token`` (``""`` if malformed)."""
    parts = token.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == SEAL_FORMAT else ""


@sensitive_variables()
def unseal(keyring: Keyring, token: str, aad: bytes) -> Sensitive:
    """Decrypt a value from ``seal``; raises ``UnknownKey`` or ``Tampered``, never leaks."""
    key_id = sealed_key_id(token)
    if not key_id:
        raise Tampered("?")
    key = keyring.key(key_id)
    body = token.split(".")[2]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return Sensitive(
            AESGCM(key.key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode()
        )
    except (InvalidTag, ValueError, binascii.Error):
        raise Tampered(key_id) from None

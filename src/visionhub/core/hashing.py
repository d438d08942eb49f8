"""Token generation and hashing shared by API tokens and dispatch tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(prefix: str, nbytes: int = 32) -> str:
    """A random secret with a readable prefix, e.g. ``vh_…`` (256 bits of entropy by default)."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a high-entropy secret; only this is stored.

    A slow hash is unnecessary here: the secrets are random 256-bit values, not passwords.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())

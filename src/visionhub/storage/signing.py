"""Time-limited download links for blobs, for backends that cannot presign (the filesystem).

A link is ``/api/v1/blobs/<sha256>?expires=<unix>&filename=…&signature=<hex>``, where the
signature is an HMAC-SHA256 over ``sha256|expires|filename`` keyed with ``SECRET_KEY`` (through
Django's ``salted_hmac``, so the key is never shared with another use of the secret). Whoever holds
the link may download the blob until it expires; no token is needed.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from visionhub.storage.base import BlobNotFound, check_key
from visionhub.storage.factory import get_store

BLOB_PATH = "/api/v1/blobs/"
_SALT = "visionhub.storage.signing"


def _signature(sha256: str, expires: int, filename: str | None, secret: str) -> str:
    message = f"{sha256}|{expires}|{filename or ''}"
    return salted_hmac(_SALT, message, secret, algorithm="sha256").hexdigest()


def signed_path(sha256: str, *, ttl: int, filename: str | None = None) -> str:
    """The path (with query) of a link to ``sha256`` valid for ``ttl`` seconds from now."""
    check_key(sha256)
    expires = int(time.time()) + ttl
    query: dict[str, str | int] = {"expires": expires}
    if filename:
        query["filename"] = filename
    query["signature"] = _signature(sha256, expires, filename, settings.SECRET_KEY)
    return f"{BLOB_PATH}{sha256}?{urlencode(query)}"


def verify(sha256: str, expires: int, filename: str | None, signature: str) -> None:
    """Return if the link is authentic and unexpired, else raise ``BlobNotFound`` (404).

    A bad, tampered and expired link all get the same answer as a missing blob. Keys in
    ``SECRET_KEY_FALLBACKS`` are accepted too, so links survive a key rotation until they expire.
    """
    check_key(sha256)
    if expires < time.time():
        raise BlobNotFound("blob_not_found", "no such blob, or the link has expired")
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    # Every key is tried (no early exit) so timing does not reveal which one matched.
    valid = [
        constant_time_compare(signature, _signature(sha256, expires, filename, secret))
        for secret in secrets
    ]
    if not any(valid):
        raise BlobNotFound("blob_not_found", "no such blob, or the link has expired")


def blob_url(request: HttpRequest, sha256: str, *, filename: str | None = None) -> str:
    """An absolute, time-limited download URL for ``sha256``, valid ``BLOB_URL_TTL`` seconds.

    The store's own presigned URL where it has one (S3), else a signed link to this server.
    """
    ttl: int = settings.BLOB_URL_TTL
    direct = get_store().presigned_url(sha256, ttl=ttl, filename=filename)
    if direct is not None:
        return direct
    return request.build_absolute_uri(signed_path(sha256, ttl=ttl, filename=filename))

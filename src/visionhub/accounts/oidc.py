"""Sign-in with access tokens (JWT) of the OIDC providers in ``settings.OIDC_ISSUERS``.

A token is accepted only if its issuer is configured, its signature verifies (RS256 or ES256;
never ``none`` or HMAC) with a key of that issuer's JWKS, ``aud`` is ``settings.OIDC_AUDIENCE``,
and ``exp``/``nbf``/``iat`` hold within a small leeway. The first sign-in creates the user and
its ``Identity`` (issuer, subject, e-mail).

Each issuer's discovery document and JWKS are fetched with httpx and cached per process; an
unknown ``kid`` (key rotation) refetches the JWKS, at most once per ``REFETCH_INTERVAL``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from django.conf import settings
from django.db import IntegrityError

from visionhub.accounts.models import User
from visionhub.accounts.services import get_or_create_oidc_user

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
LEEWAY_SECONDS = 30
DISCOVERY_TTL = 3600.0
JWKS_TTL = 600.0
REFETCH_INTERVAL = 10.0
HTTP_TIMEOUT = 5.0


@dataclass
class _Issuer:
    jwks_uri: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    discovered_at: float = -1e9
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = -1e9
    refetched_at: float = -1e9
    # One fetch at a time per issuer; a slow provider never blocks another's sign-ins.
    lock: threading.Lock = field(default_factory=threading.Lock)


_issuers: dict[str, _Issuer] = {}
_issuers_lock = threading.Lock()


def _normalise(url: str) -> str:
    return url.rstrip("/")


def _configured(issuer: str) -> bool:
    return _normalise(issuer) in {_normalise(i) for i in settings.OIDC_ISSUERS}


def _get_json(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return data


def _discover(issuer: str, state: _Issuer) -> None:
    if time.monotonic() - state.discovered_at < DISCOVERY_TTL and state.jwks_uri:
        return
    document = _get_json(f"{_normalise(issuer)}/.well-known/openid-configuration")
    if _normalise(str(document.get("issuer", ""))) != _normalise(issuer):
        raise ValueError(f"the discovery document of {issuer} names another issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
        raise ValueError(f"the discovery document of {issuer} has no jwks_uri")
    state.jwks_uri = jwks_uri
    for name in ("authorization_endpoint", "token_endpoint"):
        value = document.get(name)
        setattr(state, name, value if isinstance(value, str) else "")
    state.discovered_at = time.monotonic()


def _state(issuer: str) -> _Issuer:
    with _issuers_lock:
        return _issuers.setdefault(_normalise(issuer), _Issuer())


def _fetch_keys(state: _Issuer) -> None:
    keys: dict[str, jwt.PyJWK] = {}
    for entry in _get_json(state.jwks_uri).get("keys", []):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue  # a key type or curve we do not use
        keys[str(entry.get("kid", ""))] = key
    state.keys = keys
    state.fetched_at = time.monotonic()


def _signing_key(issuer: str, kid: str) -> jwt.PyJWK | None:
    """The key ``kid`` of ``issuer``, from the cache or a (re)fetched JWKS."""
    state = _state(issuer)
    with state.lock:
        now = time.monotonic()
        if now - state.fetched_at > JWKS_TTL:
            _discover(issuer, state)
            _fetch_keys(state)
        elif kid not in state.keys and now - state.refetched_at > REFETCH_INTERVAL:
            state.refetched_at = now
            _discover(issuer, state)
            _fetch_keys(state)
        if kid in state.keys:
            return state.keys[kid]
        if not kid and len(state.keys) == 1:
            return next(iter(state.keys.values()))
        return None


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str


def endpoints(issuer: str) -> Endpoints:
    """The authorization and token endpoints of a configured issuer (its discovery document)."""
    if not _configured(issuer):
        raise ValueError(f"{issuer} is not in VISIONHUB_OIDC_ISSUERS")
    state = _state(issuer)
    with state.lock:
        _discover(issuer, state)
        found = Endpoints(state.authorization_endpoint, state.token_endpoint)
    if not found.authorization.startswith(("https://", "http://")) or not found.token.startswith(
        ("https://", "http://")
    ):
        raise ValueError(f"the discovery document of {issuer} has no authorization code flow")
    return found


def _verified(token: str, issuer: str, audience: str) -> dict[str, Any] | None:
    """The claims of ``token`` signed by a key of ``issuer`` for ``audience``, or None."""
    header = jwt.get_unverified_header(token)
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        return None
    key = _signing_key(issuer, str(header.get("kid") or ""))
    if key is None or key.key_type != KEY_TYPES[algorithm]:
        return None
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=[algorithm],
        audience=audience,
        issuer=issuer,
        leeway=LEEWAY_SECONDS,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )
    return claims


def _verify(token: str) -> dict[str, Any] | None:
    unverified = jwt.decode(token, options={"verify_signature": False})
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not _configured(issuer):
        return None
    return _verified(token, issuer, settings.OIDC_AUDIENCE)


def verify_id_token(issuer: str, token: str, *, audience: str, nonce: str) -> dict[str, Any]:
    """The claims of an ID token from the code flow: signed by ``issuer``, for ``audience``
    (our client id), carrying the ``nonce`` this sign-in sent. Raises ``ValueError`` or a
    ``jwt.PyJWTError`` otherwise."""
    claims = _verified(token, issuer, audience)
    if claims is None:
        raise ValueError("the ID token is not signed by a key of its issuer")
    if not nonce or claims.get("nonce") != nonce:
        raise ValueError("the ID token does not carry this sign-in's nonce")
    return claims


def user_for_claims(claims: dict[str, Any]) -> User | None:
    """The active user of verified claims (created with its ``Identity`` on first sign-in),
    or None: the one rule of OIDC sign-in, for bearer tokens and for the pages alike."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        return None
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is False or len(email) > 254:
        email = ""
    try:
        user = get_or_create_oidc_user(str(claims["iss"]), subject, email)
    except IntegrityError:  # two first sign-ins at once: the other one created it
        user = get_or_create_oidc_user(str(claims["iss"]), subject, email)
    return user if user.is_active else None


def authenticate_jwt(token: str) -> User | None:
    """The active user signing in with the OIDC access token ``token``, or None (401)."""
    try:
        claims = _verify(token)
    except (jwt.PyJWTError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.info("OIDC token refused: %s", exc)
        return None
    if claims is None:
        return None
    return user_for_claims(claims)

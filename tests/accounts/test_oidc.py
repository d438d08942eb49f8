"""Sign-in with OIDC access tokens, against a real OIDC provider started on 127.0.0.1.

The provider (standard library HTTP server, keys from ``cryptography``, tokens from PyJWT)
serves a discovery document, a JWKS and a token endpoint; the module's VisionHub server trusts
it through ``VISIONHUB_OIDC_ISSUERS``. Forged tokens of every kind must get the 401 envelope.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error, unique
from tests.oidc_provider import AUDIENCE, Provider, rsa_key


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    made = Provider()
    made.add_key("rsa-1", rsa_key(), "RS256")
    made.add_key("ec-1", ec.generate_private_key(ec.SECP256R1()), "ES256")
    made.start()
    yield made
    made.stop()


@pytest.fixture(scope="module")
def stranger_provider() -> Iterator[Provider]:
    """A working provider that VisionHub was not configured to trust."""
    made = Provider()
    made.add_key("rsa-1", rsa_key(), "RS256")
    made.start()
    yield made
    made.stop()


@pytest.fixture(scope="module")
def server_settings(provider: Provider) -> dict[str, Any]:
    return {"OIDC_ISSUERS": [provider.url], "OIDC_AUDIENCE": AUDIENCE}


def me(server: LiveServer, token: str) -> httpx.Response:
    return server.get(f"{server.api}/users/me", headers={"Authorization": f"Bearer {token}"})


Committed = Callable[[], AbstractContextManager[None]]


def test_the_first_sign_in_creates_the_user_and_its_identity(
    server: LiveServer, provider: Provider, committed: Committed
) -> None:
    from visionhub.accounts.models import Identity

    sub = unique("dana")
    response = me(server, provider.issue(sub))
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["email"] == f"{sub}@example.org"
    assert user["username"] == sub
    with committed():
        identity = Identity.objects.select_related("user").get(issuer=provider.url, subject=sub)
    assert identity.user.pk == user["id"]
    assert identity.email == f"{sub}@example.org"
    assert identity.last_login is not None


def test_a_second_sign_in_is_the_same_user(
    server: LiveServer, provider: Provider, committed: Committed
) -> None:
    from visionhub.accounts.models import Identity

    sub = unique("erik")
    first = me(server, provider.issue(sub)).json()
    second = me(server, provider.issue(sub)).json()
    assert first["id"] == second["id"]
    with committed():
        assert Identity.objects.filter(issuer=provider.url, subject=sub).count() == 1


def test_the_jwks_is_cached_between_sign_ins(server: LiveServer, provider: Provider) -> None:
    me(server, provider.issue(unique("fay")))
    before = provider.jwks_requests
    for _ in range(3):
        assert me(server, provider.issue(unique("fay"))).status_code == 200
    assert provider.jwks_requests == before


def test_es256_tokens_are_accepted(server: LiveServer, provider: Provider) -> None:
    sub = unique("gil")
    assert me(server, provider.sign(provider.claims(sub), kid="ec-1")).json()["username"] == sub


def test_a_rotated_key_is_fetched_when_its_kid_is_new(
    server: LiveServer, provider: Provider
) -> None:
    assert me(server, provider.issue(unique("hal"))).status_code == 200
    provider.add_key("rsa-2", rsa_key(), "RS256")
    before = provider.jwks_requests
    response = me(server, provider.issue(unique("hal"), kid="rsa-2"))
    assert response.status_code == 200, response.text
    assert provider.jwks_requests == before + 1


def _forgeries(provider: Provider, stranger: Provider) -> dict[str, str]:
    now = int(time.time())
    claims = provider.claims(unique("mallory"))
    public_pem = (
        provider.keys["rsa-1"][0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return {
        "expired": provider.sign({**claims, "iat": now - 900, "nbf": now - 900, "exp": now - 300}),
        "not yet valid": provider.sign({**claims, "nbf": now + 600}),
        "wrong audience": provider.sign({**claims, "aud": "someone-else"}),
        "no audience": provider.sign(provider.claims(unique("m"), aud=None)),
        "no expiry": provider.sign(provider.claims(unique("m"), exp=None)),
        "another key with the same kid": provider.sign(claims, key=rsa_key()),
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"}),
        "hs256 with the public key": _hs256(claims, public_pem),
        "rsa key under the ec kid": provider.sign(
            claims, kid="ec-1", key=provider.keys["rsa-1"][0], algorithm="RS256"
        ),
        "unknown kid": provider.sign(
            claims, kid=f"kid-{uuid.uuid4()}", key=rsa_key(), algorithm="RS256"
        ),
        "unknown issuer": stranger.sign(stranger.claims(unique("m"))),
        "a trusted key claiming another issuer": provider.sign({**claims, "iss": stranger.url}),
        "tampered payload": _tamper(provider.sign(claims)),
        "garbage": "a.b.c",
    }


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    """The algorithm-confusion attack: HMAC keyed with the provider's public key (PyJWT refuses
    to make this token, so it is assembled by hand)."""

    def part(data: dict[str, Any]) -> str:
        return jwt.utils.base64url_encode(json.dumps(data).encode()).decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'})}.{part(claims)}"
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{jwt.utils.base64url_encode(digest).decode()}"


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(jwt.utils.base64url_decode(payload))
    data["sub"] = "admin"
    forged = jwt.utils.base64url_encode(json.dumps(data).encode()).decode()
    return f"{header}.{forged}.{signature}"


FORGERIES = [
    "expired",
    "not yet valid",
    "wrong audience",
    "no audience",
    "no expiry",
    "another key with the same kid",
    "alg none",
    "hs256 with the public key",
    "rsa key under the ec kid",
    "unknown kid",
    "unknown issuer",
    "a trusted key claiming another issuer",
    "tampered payload",
    "garbage",
]


@pytest.mark.parametrize("kind", FORGERIES)
def test_forged_and_invalid_tokens_get_the_401_envelope(
    server: LiveServer, provider: Provider, stranger_provider: Provider, kind: str
) -> None:
    token = _forgeries(provider, stranger_provider)[kind]
    response = me(server, token)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_banned_oidc_user_is_refused(server: LiveServer, provider: Provider) -> None:
    sub = unique("ivy")
    username = me(server, provider.issue(sub)).json()["username"]
    server.cli("user", "ban", username)
    assert_error(me(server, provider.issue(sub)), 401, "unauthorized")


def test_visionhub_tokens_still_work_beside_oidc(alice: Person) -> None:
    assert alice.http.get("/users/me").json()["username"] == alice.username

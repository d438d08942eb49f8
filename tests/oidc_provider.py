"""A real OpenID Connect provider for the tests, on 127.0.0.1 (standard library HTTP server).

Keys from ``cryptography``, tokens from PyJWT. The API's bearer tests use its password grant;
the pages' "Sign in with …" tests use its authorization code flow with PKCE in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "visionhub"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Provider:
    """A minimal OIDC provider: discovery, ``/jwks``, ``/authorize`` (a page where the person
    types a subject and allows or denies) and ``/token`` (password grant for access tokens,
    authorization code grant with PKCE for ID tokens)."""

    keys: dict[str, tuple[PrivateKey, str]] = field(default_factory=dict)
    jwks_requests: int = 0
    client_id: str = AUDIENCE
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    # Claims to change in the next ID tokens (a forged nonce, another audience, …).
    id_token_overrides: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def add_key(self, kid: str, key: PrivateKey, algorithm: str) -> None:
        self.keys[kid] = (key, algorithm)

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, (key, algorithm) in self.keys.items():
            codec = RSAAlgorithm if algorithm == "RS256" else ECAlgorithm
            jwk = codec.to_jwk(key.public_key(), as_dict=True)
            out.append({**jwk, "kid": kid, "use": "sig", "alg": algorithm})
        return {"keys": out}

    def claims(self, sub: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": sub,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "email": f"{sub}@example.org",
            "email_verified": True,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(
        self,
        claims: dict[str, Any],
        kid: str = "rsa-1",
        key: Any = None,
        algorithm: str | None = None,
    ) -> str:
        own_key, own_algorithm = self.keys.get(kid, (None, "RS256"))
        return jwt.encode(
            claims,
            key if key is not None else own_key,
            algorithm=algorithm or own_algorithm,
            headers={"kid": kid},
        )

    def start(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _html(self, body: str, status: int = 200) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": provider.url,
                            "jwks_uri": f"{provider.url}/jwks",
                            "authorization_endpoint": f"{provider.url}/authorize",
                            "token_endpoint": f"{provider.url}/token",
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                            "code_challenge_methods_supported": ["S256"],
                        }
                    )
                elif path == "/jwks":
                    provider.jwks_requests += 1
                    self._json(provider.jwks())
                elif path == "/authorize":
                    self._authorize_form({k: v[0] for k, v in parse_qs(query).items()})
                else:
                    self._json({"error": "not_found"}, 404)

            def _authorize_form(self, params: dict[str, str]) -> None:
                provider.authorize_requests.append(params)
                problem = provider.check_authorization(params)
                if problem:
                    self._html(f"<h1>Refused</h1><p>{html.escape(problem)}</p>", 400)
                    return
                hidden = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                    for k, v in params.items()
                )
                self._html(
                    "<!doctype html><title>Test provider</title><h1>Test provider</h1>"
                    f'<form method="post" action="/authorize">{hidden}'
                    '<label>Subject <input name="subject"></label>'
                    '<button type="submit" name="decision" value="allow">Allow</button>'
                    '<button type="submit" name="decision" value="deny">Deny</button></form>'
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/authorize":
                    self.send_response(302)
                    self.send_header("Location", provider.decide(form))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path != "/token":
                    self._json({"error": "not_found"}, 404)
                    return
                provider.token_requests.append(form)
                if form.get("grant_type") == "password":
                    claims = provider.claims(form["username"])
                    token = provider.sign(claims, kid=form.get("kid", "rsa-1"))
                    self._json({"access_token": token, "token_type": "Bearer", "expires_in": 300})
                elif form.get("grant_type") == "authorization_code":
                    answer, status = provider.exchange(form)
                    self._json(answer, status)
                else:
                    self._json({"error": "unsupported_grant_type"}, 400)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    # --- the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636) ----------------------

    def check_authorization(self, params: dict[str, str]) -> str | None:
        """Why an authorization request is refused, or None."""
        if params.get("response_type") != "code":
            return "response_type must be code"
        if params.get("client_id") != self.client_id:
            return "unknown client"
        if not params.get("redirect_uri", "").startswith("http://127.0.0.1:"):
            return "redirect_uri not registered"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE (S256) is required"
        if "openid" not in params.get("scope", "").split():
            return "scope must include openid"
        if not params.get("state") or not params.get("nonce"):
            return "state and nonce are required"
        return None

    def decide(self, form: dict[str, str]) -> str:
        """Where the browser goes after the person allows (a code) or denies the sign-in."""
        redirect_uri = form["redirect_uri"]
        if form.get("decision") != "allow":
            return f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': form['state']})}"
        code = secrets.token_urlsafe(24)
        self.codes[code] = {**form, "subject": form.get("subject") or "anonymous"}
        return f"{redirect_uri}?{urlencode({'code': code, 'state': form['state']})}"

    def exchange(self, form: dict[str, str]) -> tuple[dict[str, Any], int]:
        """The token endpoint's answer to an authorization code (single use, PKCE-checked)."""
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None:
            return {"error": "invalid_grant"}, 400
        challenge = (
            base64.urlsafe_b64encode(
                hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            )
            .decode()
            .rstrip("=")
        )
        if (
            challenge != grant["code_challenge"]
            or form.get("redirect_uri") != grant["redirect_uri"]
            or form.get("client_id") != grant["client_id"]
        ):
            return {"error": "invalid_grant"}, 400
        claims = self.claims(grant["subject"], aud=self.client_id, nonce=grant["nonce"])
        claims.update(self.id_token_overrides)
        return {
            "access_token": self.sign(self.claims(grant["subject"])),
            "id_token": self.sign({k: v for k, v in claims.items() if v is not None}),
            "token_type": "Bearer",
            "expires_in": 300,
        }, 200

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def issue(self, username: str, kid: str = "rsa-1") -> str:
        """A token from the token endpoint, as a client would get it."""
        response = httpx.post(
            f"{self.url}/token",
            data={"grant_type": "password", "username": username, "password": "x", "kid": kid},
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

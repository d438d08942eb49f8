""" "Sign in with …": the OpenID Connect authorization code flow with PKCE, per configured issuer.

``start`` keeps a fresh ``state``, ``nonce`` and PKCE ``code_verifier`` in the session and sends
the browser to the provider; ``callback`` accepts only a ``state`` it issued (once), trades the
code and the verifier for tokens at the provider's token endpoint, and verifies the ID
token's signature, issuer, audience (our client id), expiry and nonce before signing the person
in. The first sign-in creates the user and its ``Identity`` through the same function as a
bearer token (``accounts.oidc.user_for_claims``). Authlib builds the authorization request and
the PKCE challenge; the token request is one httpx POST (RFC 6749 §4.1.3, RFC 7636 §4.5).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from visionhub.accounts import oidc
from visionhub.core.errors import NotFound
from visionhub.web.middleware import public
from visionhub.web.views.auth import safe_next, start_session

log = logging.getLogger(__name__)

SESSION_KEY = "visionhub_oidc"
# Sign-ins started in other tabs stay valid side by side, up to this many.
MAX_PENDING = 5
TIMEOUT = 10.0


def providers() -> list[dict[str, Any]]:
    """The "Sign in with …" buttons: one per issuer, named by its host."""
    return [
        {"index": index, "name": urlsplit(issuer).netloc or issuer}
        for index, issuer in enumerate(settings.OIDC_ISSUERS)
    ]


def _issuer(index: int) -> str:
    if not 0 <= index < len(settings.OIDC_ISSUERS):
        raise NotFound("provider_not_found", "no such sign-in provider")
    return str(settings.OIDC_ISSUERS[index])


def _redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("web:oidc-callback"))


def _tokens(request: HttpRequest, token_endpoint: str, code: str, verifier: str) -> dict[str, Any]:
    """The provider's answer to the authorization code and its PKCE verifier."""
    secret = settings.OIDC_CLIENT_SECRET
    response = httpx.post(
        token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": _redirect_uri(request),
            "client_id": settings.OIDC_CLIENT_ID,
            "code_verifier": verifier,
        },
        auth=(settings.OIDC_CLIENT_ID, secret) if secret else None,
        headers={"Accept": "application/json"},
        timeout=TIMEOUT,
        follow_redirects=False,
    )
    response.raise_for_status()
    answer = response.json()
    if not isinstance(answer, dict):
        raise ValueError("the token endpoint did not answer a JSON object")
    return answer


def _refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    context = {"error": message, "next": safe_next(request, None), "providers": providers()}
    return render(request, "web/auth/login.html", context, status=status)


@public
@require_GET
def start(request: HttpRequest, index: int) -> HttpResponse:
    issuer = _issuer(index)
    try:
        endpoints = oidc.endpoints(issuer)
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("OIDC provider %s unusable: %s", issuer, exc)
        return _refused(request, "That sign-in provider does not answer; try again later.", 502)
    verifier = generate_token(64)
    nonce = generate_token(32)
    state = generate_token(32)
    url = prepare_grant_uri(
        endpoints.authorization,
        client_id=settings.OIDC_CLIENT_ID,
        response_type="code",
        redirect_uri=_redirect_uri(request),
        scope="openid email profile",
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    pending: dict[str, dict[str, str]] = request.session.get(SESSION_KEY, {})
    pending = dict(list(pending.items())[-(MAX_PENDING - 1) :])
    pending[state] = {
        "issuer": issuer,
        "nonce": nonce,
        "verifier": verifier,
        "next": safe_next(request, request.GET.get("next")),
    }
    request.session[SESSION_KEY] = pending
    return HttpResponseRedirect(url)


@public
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    pending: dict[str, dict[str, str]] = request.session.get(SESSION_KEY, {})
    flow = pending.pop(request.GET.get("state", ""), None)
    request.session[SESSION_KEY] = pending
    if flow is None:
        return _refused(request, "This sign-in has expired or was not started here; try again.")
    if "error" in request.GET or "code" not in request.GET:
        reason = request.GET.get("error_description") or request.GET.get("error") or "no code"
        return _refused(request, f"The provider did not sign you in: {reason[:200]}", 401)
    try:
        endpoints = oidc.endpoints(flow["issuer"])
        token = _tokens(request, endpoints.token, request.GET["code"], flow["verifier"])
        claims = oidc.verify_id_token(
            flow["issuer"],
            str(token.get("id_token", "")),
            audience=settings.OIDC_CLIENT_ID,
            nonce=flow["nonce"],
        )
    except (httpx.HTTPError, jwt.PyJWTError, ValueError, KeyError) as exc:
        log.info("OIDC sign-in refused: %s", exc)
        return _refused(request, "The provider's answer could not be verified; try again.", 401)
    user = oidc.user_for_claims(claims)
    if user is None:
        return _refused(request, "This account may not sign in.", 403)
    return start_session(request, user, flow["next"])

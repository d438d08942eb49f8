"""Vault pages: my secrets by name and description, and the reveal of one.

Revealing is the audited action of the API: the same ``vault.access.get_secret`` and
``vault.services.reveal_secret`` (which logs the reveal before it decrypts), behind a
confirmation form, its answer shown once and never cached.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from visionhub.vault import access, services
from visionhub.vault.models import Secret, SecretAccess
from visionhub.web.paging import keyset_page
from visionhub.web.views import signed_in_user

RECENT_REVEALS = 10


@require_GET
def secret_list(request: HttpRequest) -> HttpResponse:
    owner = access.vault_owner(signed_in_user(request))
    qs = Secret.objects.filter(owner=owner).only(
        "id", "name", "description", "created_at", "updated_at"
    )
    page = keyset_page(request, qs, order_by=("name",))
    context = {"page": page}
    return render(request, "web/vault/secrets.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def reveal(request: HttpRequest, name: str) -> HttpResponse:
    """GET asks to confirm; POST reveals (and logs the reveal) and shows the values once."""
    user = signed_in_user(request)
    secret = access.get_secret(user, name)
    revealed = None
    if request.method == "POST":
        revealed = services.reveal_secret(
            secret,
            by=user,
            ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", ""),
        )
    reveals = SecretAccess.objects.filter(secret=secret).order_by("-id")[:RECENT_REVEALS]
    context = {"secret": secret, "revealed": revealed, "reveals": list(reveals)}
    return render(request, "web/vault/reveal.html", context)

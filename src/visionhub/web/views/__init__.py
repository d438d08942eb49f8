"""Page views, one module per area of the product (datasets, models, deployments, …).

Every view is thin: it names objects through an ``access`` function with the signed-in user,
changes them through a service, and renders a template. ``SignedInMiddleware`` has already
sent anyone not signed in to the login page.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from visionhub.accounts.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The person signed in on this request (the middleware let no one else through)."""
    user = request.user
    assert isinstance(user, User)
    return user


def local_url(request: HttpRequest, candidate: str | None, fallback: str) -> str:
    """``candidate`` if it is a URL of this site (a form's "back" or "next"), else ``fallback``:
    never a redirect to another site."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback

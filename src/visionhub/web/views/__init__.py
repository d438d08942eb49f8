"""Page views, one module per area of the product (datasets, models, deployments, …).

Every view is thin: it names objects through an ``access`` function with the signed-in user,
changes them through a service, and renders a template. ``SignedInMiddleware`` has already
sent anyone not signed in to the login page.
"""

from __future__ import annotations

from django.http import HttpRequest

from visionhub.accounts.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The person signed in on this request (the middleware let no one else through)."""
    user = request.user
    assert isinstance(user, User)
    return user

"""The UI's error pages: in its style, with the status and a way home, for every code."""

from __future__ import annotations

from django.test import RequestFactory

from visionhub.web.views import errors


def test_the_500_page_renders_without_touching_the_request() -> None:
    response = errors.server_error(RequestFactory().get("/datasets/1/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert 'href="/"' in html
    assert "Sign out" not in html  # no navigation that could fail again


def test_the_400_and_403_pages_carry_their_status() -> None:
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert errors.bad_request(request).status_code == 400
    denied = errors.permission_denied(request)
    assert denied.status_code == 403
    assert "You may see this, but not change it." in denied.content.decode()

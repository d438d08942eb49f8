"""Signing in and out of the pages, the throttle, bans, security headers and error pages."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.conftest import LiveServer, Person, PersonFactory
from tests.web.conftest import PASSWORD, SignIn, csrf_token, http_sign_in, sign_in

pytestmark = [pytest.mark.process, pytest.mark.browser]

Committed = Callable[[], AbstractContextManager[None]]


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    # A small throttle so that its test needs few tries.
    return {"VISIONHUB_LOGIN_MAX_FAILURES": "3"}


def test_every_page_sends_a_stranger_to_the_login_page(browserless: httpx.Client) -> None:
    for path in ["/"]:
        response = browserless.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == f"/login/?{urlencode({'next': path}, safe='/')}"


def test_a_person_signs_in_with_a_password_and_lands_where_they_were_going(
    page: Page, alice: Person
) -> None:
    page.goto("/?from=bookmark")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.get_by_label("Username").fill(alice.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"/\?from=bookmark$"))
    expect(page.get_by_test_id("signed-in-as")).to_have_text(alice.username)


def test_a_wrong_password_says_so_and_signs_nobody_in(page: Page, bob: Person) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(bob.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Username")).to_have_value(bob.username)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_password_guessing_is_throttled_even_for_the_right_password(
    browserless: httpx.Client, make_person: PersonFactory
) -> None:
    target = make_person("target", password=PASSWORD)
    for _ in range(3):
        assert http_sign_in(browserless, target, "guess").status_code == 401
    refused = http_sign_in(browserless, target, PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.text
    # The API's login counts the same failures: one rule for both.
    api = browserless.post(
        "/api/v1/auth/login", json={"username": target.username, "password": PASSWORD}
    )
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "too_many_login_failures"


def test_sign_out_ends_the_session(signed_in: SignIn, alice: Person) -> None:
    page = signed_in(alice)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/"))


def test_a_banned_person_is_signed_out_at_the_next_request(
    signed_in: SignIn, make_person: PersonFactory, committed: Committed
) -> None:
    from visionhub.accounts import services
    from visionhub.accounts.models import User

    dora = make_person("dora", password=PASSWORD)
    page = signed_in(dora)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(dora.username)
    with committed():
        services.ban_user(User.objects.get(username=dora.username))
    page.reload()
    expect(page).to_have_url(re.compile(r"/login/"))
    with committed():
        services.unban_user(User.objects.get(username=dora.username))
    # Unbanned, the old session is still over: the person signs in again.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_the_session_id_changes_at_sign_in(browserless: httpx.Client, alice: Person) -> None:
    browserless.get("/login/")
    browserless.cookies.set("sessionid", "chosen-by-an-attacker", domain="127.0.0.1")
    response = http_sign_in(browserless, alice)
    assert response.status_code == 302
    assert response.cookies["sessionid"] not in ("", "chosen-by-an-attacker")


def test_a_form_without_its_csrf_token_is_refused(browserless: httpx.Client, alice: Person) -> None:
    csrf_token(browserless)
    response = browserless.post("/login/", data={"username": alice.username, "password": PASSWORD})
    assert response.status_code == 403
    assert "The form had expired" in response.text


def test_next_never_leads_to_another_site(browserless: httpx.Client, alice: Person) -> None:
    response = browserless.post(
        "/login/",
        data={
            "username": alice.username,
            "password": PASSWORD,
            "next": "https://evil.example/",
            "csrfmiddlewaretoken": csrf_token(browserless),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_pages_carry_a_strict_policy_and_safe_cookies(
    browserless: httpx.Client, alice: Person
) -> None:
    login_page = browserless.get("/login/")
    policy = login_page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert login_page.headers["X-Frame-Options"] == "DENY"
    assert login_page.headers["Referrer-Policy"] == "same-origin"
    assert login_page.headers["X-Content-Type-Options"] == "nosniff"
    signed = http_sign_in(browserless, alice)
    cookie = next(
        v for k, v in signed.headers.multi_items() if k == "set-cookie" and "sessionid" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # VISIONHUB_HTTPS is off in this module


def test_no_page_holds_an_inline_script_or_event_handler(
    session_of: Callable[[Person], httpx.Client], alice: Person
) -> None:
    client = session_of(alice)
    for path in ["/login/", "/", "/no-such-page/"]:
        html = client.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (path, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert not re.search(r"(src|href)=\"(https?:)?//", html), path


def test_cookies_are_secure_behind_https() -> None:
    script = (
        "from django.conf import settings; import django; django.setup(); "
        "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)"
    )
    env = {"DJANGO_SETTINGS_MODULE": "visionhub.settings", "VISIONHUB_HTTPS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**_inherited(), **env},
    )
    assert result.stdout.split() == ["True", "True"]


def _inherited() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "VISIONHUB_HTTPS"}


def test_an_unknown_page_is_the_uis_404_and_the_apis_stays_json(
    signed_in: SignIn, alice: Person, server: LiveServer
) -> None:
    page = signed_in(alice)
    response = page.goto("/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("link", name="Datasets")).to_be_visible()  # the nav is there
    api = httpx.get(f"{server.api}/no-such-thing")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


def test_signing_in_again_while_signed_in_goes_home(page: Page, alice: Person) -> None:
    sign_in(page, alice)
    page.goto("/login/")
    expect(page).to_have_url(re.compile(r"/$"))

""" "Sign in with …" in the browser: the OIDC authorization code flow with PKCE against a real
provider on 127.0.0.1 (``tests/oidc_provider.py``), state and nonce checked."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page, expect
from tests.helpers import unique
from tests.oidc_provider import Provider, rsa_key

pytestmark = [pytest.mark.process, pytest.mark.browser]

Committed = Callable[[], AbstractContextManager[None]]


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    made = Provider()
    made.add_key("rsa-1", rsa_key(), "RS256")
    made.add_key("ec-1", ec.generate_private_key(ec.SECP256R1()), "ES256")
    made.start()
    yield made
    made.stop()


@pytest.fixture(scope="module")
def server_env(provider: Provider) -> dict[str, str]:
    return {"VISIONHUB_OIDC_ISSUERS": provider.url}


@pytest.fixture(autouse=True)
def _honest_tokens(provider: Provider) -> Iterator[None]:
    yield
    provider.id_token_overrides.clear()


def through_the_provider(page: Page, provider: Provider, subject: str, decision: str) -> None:
    page.goto("/login/?next=/datasets/")
    name = provider.url.removeprefix("http://")
    page.get_by_role("link", name=f"Sign in with {name}").click()
    expect(page.get_by_role("heading", name="Test provider")).to_be_visible()
    page.get_by_label("Subject").fill(subject)
    page.get_by_role("button", name=decision).click()


def test_the_first_sign_in_creates_the_person_and_their_identity(
    page: Page, provider: Provider, committed: Committed
) -> None:
    from visionhub.accounts.models import Identity

    subject = unique("zoe")
    through_the_provider(page, provider, subject, "Allow")
    expect(page).to_have_url(re.compile(r"/datasets/$"))
    expect(page.get_by_test_id("signed-in-as")).to_have_text(subject)
    with committed():
        identity = Identity.objects.select_related("user").get(issuer=provider.url, subject=subject)
    assert identity.user.username == subject
    assert identity.email == f"{subject}@example.org"
    asked = provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256"
    assert asked["client_id"] == "visionhub"
    assert len(provider.token_requests[-1]["code_verifier"]) >= 43


def test_a_second_sign_in_is_the_same_person(
    page: Page, provider: Provider, committed: Committed
) -> None:
    from visionhub.accounts.models import Identity

    subject = unique("yan")
    through_the_provider(page, provider, subject, "Allow")
    page.get_by_role("button", name="Sign out").click()
    through_the_provider(page, provider, subject, "Allow")
    expect(page.get_by_test_id("signed-in-as")).to_have_text(subject)
    with committed():
        assert Identity.objects.filter(issuer=provider.url, subject=subject).count() == 1


def test_a_denied_sign_in_leaves_the_person_signed_out(page: Page, provider: Provider) -> None:
    through_the_provider(page, provider, unique("xia"), "Deny")
    expect(page.get_by_role("alert")).to_contain_text("access_denied")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_an_id_token_with_another_nonce_is_refused(page: Page, provider: Provider) -> None:
    provider.id_token_overrides["nonce"] = "a nonce of another sign-in"
    through_the_provider(page, provider, unique("wes"), "Allow")
    expect(page.get_by_role("alert")).to_contain_text("could not be verified")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_an_id_token_for_another_client_is_refused(page: Page, provider: Provider) -> None:
    provider.id_token_overrides["aud"] = "another-client"
    through_the_provider(page, provider, unique("val"), "Allow")
    expect(page.get_by_role("alert")).to_contain_text("could not be verified")


def test_a_callback_with_a_state_this_browser_never_sent_is_refused(
    page: Page, provider: Provider
) -> None:
    through_the_provider(page, provider, unique("uma"), "Allow")
    page.get_by_role("button", name="Sign out").click()
    # A code and a state of someone else's sign-in (login CSRF) sign nobody in here.
    page.goto("/login/oidc/callback/?state=forged&code=stolen")
    expect(page.get_by_role("alert")).to_contain_text("expired or was not started here")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_a_banned_person_cannot_sign_in_with_the_provider(
    page: Page, provider: Provider, committed: Committed
) -> None:
    from visionhub.accounts import services
    from visionhub.accounts.models import Identity

    subject = unique("tom")
    through_the_provider(page, provider, subject, "Allow")
    page.get_by_role("button", name="Sign out").click()
    with committed():
        services.ban_user(Identity.objects.get(issuer=provider.url, subject=subject).user)
    through_the_provider(page, provider, subject, "Allow")
    expect(page.get_by_role("alert")).to_contain_text("may not sign in")

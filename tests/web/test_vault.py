"""The vault pages in a browser: names only, and a reveal that is confirmed, shown once, logged."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.conftest import Person
from tests.helpers import unique
from tests.web.conftest import SignIn

pytestmark = [pytest.mark.process, pytest.mark.browser]


def _secret(person: Person) -> str:
    name = unique("registry")
    body = {"name": name, "description": "docker registry", "username": "bot", "password": "pw-1"}
    assert person.http.post("/vault/secrets", json=body).status_code == 201
    return name


def test_a_person_reveals_a_secret_after_confirming(signed_in: SignIn, alice: Person) -> None:
    name = _secret(alice)
    page = signed_in(alice)
    page.goto("/vault/")
    row = page.locator(f'tr[data-secret="{name}"]')
    expect(row).to_contain_text("docker registry")
    expect(page.locator("#secrets")).not_to_contain_text("pw-1")
    row.get_by_role("link", name="Reveal…").click()
    expect(page.locator("#reveal-form")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("pw-1")
    page.get_by_role("button", name="Reveal the credentials").click()
    expect(page.locator("#secret-password")).to_have_text("pw-1")
    expect(page.locator("#secret-username")).to_have_text("bot")
    expect(page.locator("#reveals tbody tr")).to_have_count(1)
    page.goto(page.url)  # opened again (a GET): the values are not shown again
    expect(page.locator("#reveal-form")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("pw-1")
    audit = alice.http.get(f"/vault/secrets/{name}/audit").json()["items"]
    assert [entry["username"] for entry in audit] == [alice.username]


def test_a_stranger_gets_the_404_page(
    other_browser: SignIn, alice: Person, charlie: Person
) -> None:
    name = _secret(alice)
    page = other_browser(charlie)
    response = page.goto(f"/vault/{name}/reveal")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    page.goto("/vault/")
    expect(page.get_by_text(name)).to_have_count(0)
    assert alice.http.get(f"/vault/secrets/{name}/audit").json()["items"] == []

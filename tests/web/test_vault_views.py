"""The vault pages over HTTP: names and descriptions only; the reveal is confirmed, logged by
the vault service before it decrypts, and never cached."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import Person
from tests.helpers import unique
from tests.web.conftest import PASSWORD
from tests.web.hub_support import submit_form

from visionhub.vault.models import SecretAccess

Pages = Callable[[Person], httpx.Client]
Committed = Callable[[], AbstractContextManager[None]]


def _secret(person: Person) -> str:
    name = unique("registry")
    body = {"name": name, "description": "docker registry", "username": "bot", "password": "pw-9"}
    assert person.http.post("/vault/secrets", json=body).status_code == 201
    return name


def _reveals(committed: Committed, name: str) -> int:
    with committed():
        return SecretAccess.objects.filter(secret__name=name).count()


def test_the_list_shows_names_and_descriptions_never_credentials(
    session_of: Pages, alice: Person
) -> None:
    name = _secret(alice)
    html = session_of(alice).get("/vault/").text
    assert name in html and "docker registry" in html
    assert "pw-9" not in html and ">bot<" not in html


def test_a_reveal_is_confirmed_then_shown_once_and_logged(
    session_of: Pages, alice: Person, committed: Committed
) -> None:
    name = _secret(alice)
    pages = session_of(alice)
    confirm = pages.get(f"/vault/{name}/reveal")
    assert confirm.status_code == 200 and "pw-9" not in confirm.text
    assert _reveals(committed, name) == 0
    shown = submit_form(pages, f"/vault/{name}/reveal", f"/vault/{name}/reveal")
    assert shown.status_code == 200
    assert "pw-9" in shown.text and "no-store" in shown.headers["Cache-Control"]
    assert _reveals(committed, name) == 1
    assert "pw-9" not in pages.get(f"/vault/{name}/reveal").text


def test_a_reveal_without_the_pages_csrf_token_is_refused(
    session_of: Pages, alice: Person, committed: Committed
) -> None:
    name = _secret(alice)
    response = session_of(alice).post(f"/vault/{name}/reveal")
    assert response.status_code == 403
    assert _reveals(committed, name) == 0


def test_a_stranger_cannot_reach_anyone_elses_secret(
    session_of: Pages, alice: Person, charlie: Person, committed: Committed
) -> None:
    name = _secret(alice)
    pages = session_of(charlie)
    assert pages.get(f"/vault/{name}/reveal").status_code == 404
    assert submit_form(pages, "/vault/", f"/vault/{name}/reveal").status_code == 404
    assert name not in pages.get("/vault/").text
    assert _reveals(committed, name) == 0


def test_the_list_costs_the_same_queries_for_few_secrets_or_many(
    session_of: Pages, make_person: Callable[..., Person]
) -> None:
    owner = make_person("owner", password=PASSWORD)
    pages = session_of(owner)
    _secret(owner)
    with CaptureQueriesContext(connection) as few:
        pages.get("/vault/")
    for _ in range(4):
        _secret(owner)
    with CaptureQueriesContext(connection) as many:
        pages.get("/vault/")
    assert len(many) == len(few)

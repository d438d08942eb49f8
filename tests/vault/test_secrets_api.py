"""The vault API: metadata everywhere, credentials only through an audited reveal by the owner or
staff; everyone else finds nothing."""

from __future__ import annotations

import httpx
import pytest
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error, unique
from tests.vault.helpers import credentials, store

METADATA = {"name", "owner", "description", "details", "key_id", "created_at", "updated_at"}


def test_the_owner_stores_a_secret_and_gets_back_metadata_only(alice: Person) -> None:
    stored = store(alice, description="staging database", details={"host": "db.local"})

    assert set(stored.body) == METADATA
    assert stored.body["owner"] == alice.username
    assert stored.body["details"] == {"host": "db.local"}
    got = alice.http.get(f"/vault/secrets/{stored.name}")
    assert got.status_code == 200
    assert set(got.json()) == METADATA
    for text in (str(stored.body), got.text):
        assert stored.password not in text and stored.username not in text


def test_lists_never_hold_credentials_and_are_paginated(alice: Person) -> None:
    mine = [store(alice) for _ in range(3)]

    first = alice.http.get("/vault/secrets", params={"limit": 2}).json()
    rest = alice.http.get("/vault/secrets", params={"cursor": first["next_cursor"]}).json()

    assert len(first["items"]) == 2 and first["next_cursor"]
    names = [item["name"] for item in first["items"] + rest["items"]]
    assert names == sorted(names)
    assert {s.name for s in mine} <= set(names)
    for item in first["items"] + rest["items"]:
        assert set(item) == METADATA
    listed = str(first) + str(rest)
    for s in mine:
        assert s.password not in listed and s.username not in listed


def test_the_owner_reveals_and_every_reveal_is_audited(alice: Person) -> None:
    stored = store(alice)

    for agent in ("agent-one", "agent-two"):
        revealed = alice.http.post(
            f"/vault/secrets/{stored.name}/reveal", headers={"User-Agent": agent}
        )
        assert revealed.status_code == 200
        assert revealed.json() == {
            "name": stored.name,
            "username": stored.username,
            "password": stored.password,
        }
        assert revealed.headers["Cache-Control"] == "no-store"

    audit = alice.http.get(f"/vault/secrets/{stored.name}/audit").json()
    assert [entry["user_agent"] for entry in audit["items"]] == ["agent-two", "agent-one"]
    assert {entry["username"] for entry in audit["items"]} == {alice.username}
    assert {entry["ip"] for entry in audit["items"]} == {"127.0.0.1"}
    assert audit["next_cursor"] is None


def test_patch_changes_metadata_and_credentials_without_returning_them(alice: Person) -> None:
    stored = store(alice)
    _, new_password = credentials()

    patched = alice.http.patch(
        f"/vault/secrets/{stored.name}",
        json={"description": "rotated", "password": new_password},
    )

    assert patched.status_code == 200
    assert patched.json()["description"] == "rotated"
    assert new_password not in patched.text
    revealed = alice.http.post(f"/vault/secrets/{stored.name}/reveal").json()
    assert (revealed["username"], revealed["password"]) == (stored.username, new_password)
    details_only = alice.http.patch(f"/vault/secrets/{stored.name}", json={"details": {"a": 1}})
    assert details_only.json()["details"] == {"a": 1}
    assert (
        alice.http.post(f"/vault/secrets/{stored.name}/reveal").json()["password"] == new_password
    )


def test_the_owner_deletes_a_secret(alice: Person) -> None:
    stored = store(alice)

    assert alice.http.delete(f"/vault/secrets/{stored.name}").status_code == 204
    assert_error(alice.http.get(f"/vault/secrets/{stored.name}"), 404, "secret_not_found")
    assert_error(alice.http.delete(f"/vault/secrets/{stored.name}"), 404, "secret_not_found")


def test_names_are_unique_per_owner_only(alice: Person, bob: Person) -> None:
    stored = store(alice)
    body = {"name": stored.name, "password": "another-password"}

    assert_error(alice.http.post("/vault/secrets", json=body), 409, "secret_exists")
    assert bob.http.post("/vault/secrets", json=body).status_code == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "Not A Slug", "password": "{pw}"}, "invalid_name"),
        ({"name": "{name}", "password": ""}, "invalid_secret"),
        ({"name": "{name}", "password": "x" * 4097}, "invalid_secret"),
        ({"name": "{name}", "password": ["{pw}"]}, "validation_error"),
        ({"name": "{name}", "password": {"{pw}": "{pw}"}}, "validation_error"),
        ({"name": 12, "username": "{pw}", "password": "{pw}"}, "validation_error"),
        ({"name": "{name}", "username": 5, "password": "{pw}"}, "validation_error"),
        ({"name": "{name}", "password": "{pw}", "details": "{pw}"}, "validation_error"),
    ],
)
def test_invalid_input_is_rejected_without_echoing_a_credential(
    alice: Person, server: LiveServer, body: dict[str, object], code: str
) -> None:
    _, password = credentials()
    name = unique("bad")

    def fill(value: object) -> object:
        if isinstance(value, str):
            return value.replace("{pw}", password).replace("{name}", name)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {fill(k): fill(v) for k, v in value.items()}
        return value

    response = alice.http.post("/vault/secrets", json=fill(body))

    error = assert_error(response, 422, code)
    assert password not in response.text
    for item in error["details"].get("errors", []):
        assert set(item) == {"loc", "msg", "type"}
    assert password not in server.log()
    assert_error(alice.http.get(f"/vault/secrets/{name}"), 404, "secret_not_found")


@pytest.fixture(params=["charlie", "bob"])
def outsider(request: pytest.FixtureRequest) -> Person:
    person: Person = request.getfixturevalue(request.param)
    return person


def test_strangers_and_other_users_get_404_for_everything_of_someone_else(
    alice: Person, outsider: Person
) -> None:
    stored = store(alice)
    path = f"/vault/secrets/{stored.name}"

    for params in ({}, {"owner": alice.username}):
        assert_error(outsider.http.get(path, params=params), 404)
        assert_error(outsider.http.patch(path, params=params, json={"description": "x"}), 404)
        assert_error(outsider.http.post(f"{path}/reveal", params=params), 404)
        assert_error(outsider.http.get(f"{path}/audit", params=params), 404)
        assert_error(outsider.http.delete(path, params=params), 404)
    assert_error(outsider.http.get("/vault/secrets", params={"owner": alice.username}), 404)
    own = outsider.http.get("/vault/secrets").json()["items"]
    assert stored.name not in {item["name"] for item in own}

    still = alice.http.get(path).json()
    assert still["description"] == stored.body["description"]
    assert alice.http.get(f"{path}/audit").json()["items"] == []


def test_a_stranger_cannot_tell_a_missing_owner_from_a_forbidden_one(
    alice: Person, charlie: Person
) -> None:
    hidden = assert_error(charlie.http.get("/vault/secrets", params={"owner": alice.username}), 404)
    missing = assert_error(
        charlie.http.get("/vault/secrets", params={"owner": unique("nobody")}), 404
    )
    assert hidden["code"] == missing["code"] == "owner_not_found"


def test_staff_address_any_vault_and_their_reveals_are_audited(
    alice: Person, admin: Person
) -> None:
    stored = store(alice)
    path = f"/vault/secrets/{stored.name}"
    as_alice = {"owner": alice.username}

    assert_error(admin.http.get(path), 404, "secret_not_found")  # not in admin's own vault
    listed = admin.http.get("/vault/secrets", params=as_alice).json()["items"]
    assert stored.name in {item["name"] for item in listed}
    revealed = admin.http.post(f"{path}/reveal", params=as_alice)
    assert revealed.json()["password"] == stored.password
    audit = admin.http.get(f"{path}/audit", params=as_alice).json()["items"]
    assert [entry["username"] for entry in audit] == [admin.username]
    assert alice.http.get(f"{path}/audit").json()["items"] == audit
    assert_error(
        admin.http.get("/vault/secrets", params={"owner": unique("nobody")}),
        404,
        "owner_not_found",
    )
    assert admin.http.delete(path, params=as_alice).status_code == 204


def test_anonymous_callers_are_unauthorized(anonymous: httpx.Client) -> None:
    assert_error(anonymous.get("/vault/secrets"), 401, "unauthorized")
    assert_error(anonymous.post("/vault/secrets/x/reveal"), 401, "unauthorized")

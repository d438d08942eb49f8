"""Datasets, models and deployments are shared one way (``accounts/sharing.py``): the same
members, the same rights, the same answers, under each thing's own paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from tests.conftest import Person
from tests.datasets.helpers import new_dataset
from tests.helpers import assert_error
from tests.inference.helpers import deploy


@dataclass(frozen=True)
class Kind:
    """One kind of shared thing: its path, and a change a writer may make to it."""

    not_found: str
    path: str
    change: dict[str, Any]


def made_by(alice: Person, kind: str) -> Kind:
    if kind == "dataset":
        dataset = new_dataset(alice)
        return Kind("dataset_not_found", f"/datasets/{dataset['id']}", {"description": "x"})
    deployment = deploy(alice)
    if kind == "deployment":
        return Kind("deployment_not_found", f"/deployments/{deployment}", {"replication": 1})
    model = alice.http.get(f"/deployments/{deployment}").json()["model"]
    return Kind("model_not_found", f"/models/{model}", {"description": "x"})


KINDS = ["dataset", "model", "deployment"]


@pytest.fixture(params=KINDS)
def thing(request: pytest.FixtureRequest, alice: Person) -> Kind:
    return made_by(alice, request.param)


def members(person: Person, thing: Kind) -> list[dict[str, Any]]:
    body = person.http.get(f"{thing.path}/members").json()
    return body["items"] if isinstance(body, dict) else body  # type: ignore[no-any-return]


def test_a_read_member_reads_but_changes_nothing_and_manages_no_one(
    alice: Person, bob: Person, charlie: Person, thing: Kind
) -> None:
    added = alice.http.post(f"{thing.path}/members", json={"username": bob.username})
    assert added.status_code == 201, added.text
    assert set(added.json()) == {"username", "access", "role", "created_at"}
    assert (added.json()["username"], added.json()["access"]) == (bob.username, "read")

    assert bob.http.get(thing.path).status_code == 200
    assert_error(bob.http.patch(thing.path, json=thing.change), 403, "read_only")
    assert_error(bob.http.delete(thing.path), 403, "owner_only")
    assert_error(bob.http.get(f"{thing.path}/members"), 403, "owner_only")
    invite = bob.http.post(f"{thing.path}/members", json={"username": charlie.username})
    assert_error(invite, 403, "owner_only")
    assert_error(bob.http.delete(f"{thing.path}/members/{bob.username}"), 403, "owner_only")
    assert_error(charlie.http.get(thing.path), 404, thing.not_found)


def test_a_write_member_changes_it_but_manages_no_one(
    alice: Person, bob: Person, charlie: Person, thing: Kind
) -> None:
    body = {"username": bob.username, "access": "write"}
    assert alice.http.post(f"{thing.path}/members", json=body).status_code == 201
    assert bob.http.patch(thing.path, json=thing.change).status_code == 200
    assert_error(bob.http.delete(thing.path), 403, "owner_only")
    invite = bob.http.post(f"{thing.path}/members", json={"username": charlie.username})
    assert_error(invite, 403, "owner_only")


@pytest.mark.parametrize("field", ["access", "role"])
def test_the_owner_sets_changes_and_removes_members(
    alice: Person, bob: Person, thing: Kind, field: str
) -> None:
    url = f"{thing.path}/members"
    assert alice.http.post(url, json={"username": bob.username, field: "write"}).status_code == 201
    assert [(m["username"], m["access"], m["role"]) for m in members(alice, thing)] == [
        (bob.username, "write", "write")
    ]
    assert alice.http.post(url, json={"username": bob.username, field: "read"}).status_code == 201
    assert [m["access"] for m in members(alice, thing)] == ["read"]
    assert alice.http.delete(f"{url}/{bob.username}").status_code == 204
    assert members(alice, thing) == []
    assert_error(bob.http.get(thing.path), 404, thing.not_found)


def test_the_same_answers_for_every_mistake(alice: Person, bob: Person, thing: Kind) -> None:
    url = f"{thing.path}/members"
    assert_error(alice.http.post(url, json={"username": "nobody-here"}), 404, "user_not_found")
    owner = alice.http.post(url, json={"username": alice.username})
    assert_error(owner, 422, "owner_is_not_a_member")
    assert_error(alice.http.delete(f"{url}/{bob.username}"), 404, "member_not_found")
    bad = alice.http.post(url, json={"username": bob.username, "access": "admin"})
    assert_error(bad, 422, "validation_error")
    both = {"username": bob.username, "access": "read", "role": "write"}
    assert_error(alice.http.post(url, json=both), 422, "validation_error")

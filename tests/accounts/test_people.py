"""Seed 004's user operations beyond ban and unban, and seed 002's user list: deleting a user
(refused while they own anything), a random password reset shown once, a self-service password
change, and the staff's user list and search; over the API and ``visionhub user …``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from tests.conftest import Person, Server
from tests.helpers import assert_error, unique

Committed = Callable[[], AbstractContextManager[None]]
PASSWORD = "first password 1"


def make_user(committed: Committed, prefix: str = "someone", **fields: Any) -> str:
    from visionhub.accounts import services

    name = unique(prefix)
    with committed():
        services.create_user(name, password=PASSWORD, **fields)
    return name


def login(server: Server, username: str, password: str) -> httpx.Response:
    return server.http().post("/auth/login", json={"username": username, "password": password})


def test_staff_delete_a_user_who_owns_nothing(
    admin: Person, server: Server, committed: Committed
) -> None:
    name = make_user(committed)
    token = login(server, name, PASSWORD).json()["token"]
    assert admin.http.delete(f"/users/{name}").status_code == 204
    assert server.http(token).get("/users/me").status_code == 401
    assert_error(admin.http.delete(f"/users/{name}"), 404, "user_not_found")


def test_a_user_who_owns_things_is_not_deleted(
    admin: Person, server: Server, committed: Committed
) -> None:
    name = make_user(committed)
    token = login(server, name, PASSWORD).json()["token"]
    owner = server.http(token)
    assert owner.post("/datasets", json={"name": unique("ds")}).status_code == 201
    model = {"name": unique("m"), "classes": ["a"], "input": {"width": 8, "height": 8}}
    assert owner.post("/models", json=model).status_code == 201
    error = assert_error(admin.http.delete(f"/users/{name}"), 409, "user_owns_objects")
    assert error["details"]["owned"] == {
        "datasets.dataset": 1,
        "registry.modeldefinition": 1,
    }
    assert owner.get("/users/me").status_code == 200  # nothing was deleted


def test_only_staff_delete_and_never_themselves(alice: Person, admin: Person, bob: Person) -> None:
    assert_error(alice.http.delete(f"/users/{bob.username}"), 403, "admin_only")
    assert_error(alice.http.delete("/users/no-such-user"), 403, "admin_only")
    assert_error(admin.http.delete(f"/users/{admin.username}"), 409, "cannot_delete_self")


def test_a_reset_password_is_random_shown_once_and_signs_the_user_out(
    admin: Person, server: Server, committed: Committed
) -> None:
    name = make_user(committed)
    token = login(server, name, PASSWORD).json()["token"]
    first = admin.http.post(f"/users/{name}/reset-password")
    second = admin.http.post(f"/users/{name}/reset-password")
    assert first.status_code == second.status_code == 200
    assert first.json()["username"] == name
    new = second.json()["password"]
    assert len(new) >= 20 and new != first.json()["password"]
    assert server.http(token).get("/users/me").status_code == 401
    assert login(server, name, PASSWORD).status_code == 401
    assert login(server, name, first.json()["password"]).status_code == 401
    assert login(server, name, new).status_code == 200


def test_only_staff_reset_passwords(alice: Person, bob: Person) -> None:
    assert_error(alice.http.post(f"/users/{bob.username}/reset-password"), 403, "admin_only")


def test_a_user_changes_their_own_password(server: Server, committed: Committed) -> None:
    name = make_user(committed)
    me = server.http(login(server, name, PASSWORD).json()["token"])
    wrong = me.post("/users/me/password", json={"old_password": "x", "new_password": "y" * 12})
    assert_error(wrong, 401, "wrong_password")
    weak = me.post("/users/me/password", json={"old_password": PASSWORD, "new_password": "short"})
    assert_error(weak, 422, "weak_password")
    extra = me.post(
        "/users/me/password",
        json={"old_password": PASSWORD, "new_password": "a new password 2", "user": "x"},
    )
    assert_error(extra, 422, "validation_error")
    done = me.post(
        "/users/me/password", json={"old_password": PASSWORD, "new_password": "a new password 2"}
    )
    assert done.status_code == 204
    assert login(server, name, PASSWORD).status_code == 401
    assert login(server, name, "a new password 2").status_code == 200
    assert me.get("/users/me").status_code == 200  # this session stays


def test_a_token_only_user_has_no_password_to_change(alice: Person) -> None:
    response = alice.http.post(
        "/users/me/password", json={"old_password": "", "new_password": "whatever 12345"}
    )
    assert_error(response, 409, "no_password")


def test_staff_list_and_search_users_with_their_email(
    admin: Person, alice: Person, committed: Committed
) -> None:
    word = unique("zed")
    first = make_user(committed, f"{word}-ann", email="ann@lab.example")
    second = make_user(committed, f"{word}-bo", email="bo@other.example")
    listed = list(admin.client.iterate("/users", {"search": word}, page_size=1))
    assert [u["username"] for u in listed] == sorted([first, second])
    assert {u["email"] for u in listed} == {"ann@lab.example", "bo@other.example"}
    found = admin.http.get("/users/search", params={"terms": [word, "LAB.example"]}).json()
    assert [u["username"] for u in found["items"]] == [first]
    assert_error(admin.http.get("/users/search"), 422, "invalid_terms")
    for path in ("/users", "/users/search"):
        assert_error(alice.http.get(path, params={"terms": word}), 403, "admin_only")


@pytest.mark.parametrize("verb", ["list", "delete", "reset-password"])
def test_the_cli_verbs(server: Server, committed: Committed, verb: str) -> None:
    name = make_user(committed, email=f"{verb}@example.org")
    if verb == "list":
        out = server.cli("user", "list", "--search", name).stdout.splitlines()
        assert out == [
            "username\temail\tstaff\tworker\tactive",
            f"{name}\t{verb}@example.org\tno\tno\tyes",
        ]
    elif verb == "delete":
        assert f"deleted user {name}" in server.cli("user", "delete", name).stdout
        assert server.cli("user", "delete", name, check=False).returncode != 0
    else:
        password = server.cli("user", "reset-password", name).stdout.splitlines()[-1]
        assert login(server, name, password).status_code == 200
        assert login(server, name, PASSWORD).status_code == 401


def test_the_cli_refuses_to_delete_an_owner(server: Server, committed: Committed) -> None:
    name = make_user(committed)
    server.http(login(server, name, PASSWORD).json()["token"]).post(
        "/datasets", json={"name": unique("ds")}
    )
    failed = server.cli("user", "delete", name, check=False)
    assert failed.returncode != 0 and "still owns 1 datasets.dataset" in failed.stderr

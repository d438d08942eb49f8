"""Password sign-in: login, logout, refresh."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from tests.conftest import LiveServer
from tests.helpers import assert_error, unique

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def frank(server: LiveServer) -> str:
    name = unique("frank")
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    return name


def login(server: LiveServer, username: str, password: str) -> httpx.Response:
    return server.post(
        f"{server.api}/auth/login", json={"username": username, "password": password}
    )


def test_login_returns_a_token_with_an_expiry(server: LiveServer, frank: str) -> None:
    response = login(server, frank, PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now().astimezone()
    me = server.get(f"{server.api}/users/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["username"] == frank


def test_a_wrong_password_gets_401(server: LiveServer, frank: str) -> None:
    assert_error(login(server, frank, "wrong password"), 401, "invalid_credentials")


def test_an_unknown_user_gets_the_same_401(server: LiveServer) -> None:
    assert_error(login(server, unique("ghost"), PASSWORD), 401, "invalid_credentials")


def test_a_malformed_body_gets_422(server: LiveServer) -> None:
    response = server.post(f"{server.api}/auth/login", json={"username": "x"})
    error = assert_error(response, 422, "validation_error")
    assert error["details"]["errors"][0]["loc"][-1] == "password"
    garbage = server.post(
        f"{server.api}/auth/login",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert_error(garbage, 400, "invalid_json")


def test_logout_revokes_the_session_token(server: LiveServer, frank: str) -> None:
    token = login(server, frank, PASSWORD).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert server.post(f"{server.api}/auth/logout", headers=headers).status_code == 204
    assert_error(server.get(f"{server.api}/users/me", headers=headers), 401)


def test_refresh_extends_the_session(server: LiveServer, frank: str) -> None:
    first = login(server, frank, PASSWORD).json()
    headers = {"Authorization": f"Bearer {first['token']}"}
    refreshed = server.post(f"{server.api}/auth/refresh", headers=headers)
    assert refreshed.status_code == 200
    assert refreshed.json()["token"] == first["token"]
    assert refreshed.json()["expires_at"] >= first["expires_at"]


def test_a_banned_user_cannot_log_in(server: LiveServer) -> None:
    name = unique("gina")
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    assert login(server, name, PASSWORD).status_code == 200
    server.cli("user", "ban", name)
    assert_error(login(server, name, PASSWORD), 401, "invalid_credentials")
    server.cli("user", "unban", name)
    assert login(server, name, PASSWORD).status_code == 200


def test_passwords_are_hashed_with_argon2(
    server: LiveServer, frank: str, committed: object
) -> None:
    from visionhub.accounts.models import User

    with committed():  # type: ignore[operator]
        stored = User.objects.get(username=frank).password
    assert stored.startswith("argon2$")
    assert PASSWORD not in stored

"""API tokens: issued by the CLI, shown once, stored only as hashes, refused when not valid."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.utils import timezone
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error, unique


def test_a_token_from_the_cli_reads_users_me(server: LiveServer) -> None:
    name = unique("carol")
    server.cli("user", "create", name)
    out = server.cli("token", "create", name, "--name", "laptop").stdout
    token = out.strip().splitlines()[-1]
    assert token.startswith("vh_") and len(token) > 40
    me = server.get(f"{server.api}/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["username"] == name


def test_no_token_is_refused(anonymous: httpx.Client) -> None:
    response = anonymous.get("/users/me")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer vh_not-a-real-token", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "vh_x"],
)
def test_a_wrong_token_is_refused(anonymous: httpx.Client, header: str) -> None:
    assert_error(anonymous.get("/users/me", headers={"Authorization": header}), 401, "unauthorized")


def test_an_expired_token_is_refused(server: LiveServer, alice: Person, committed: object) -> None:
    from visionhub.accounts import services
    from visionhub.accounts.models import ApiToken, User

    with committed():  # type: ignore[operator]
        user = User.objects.get(pk=alice.user_id)
        issued = services.issue_token(user, name="short", expires_in=timedelta(days=1))
        ApiToken.objects.filter(pk=issued.token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    response = server.get(
        f"{server.api}/users/me", headers={"Authorization": f"Bearer {issued.secret}"}
    )
    assert_error(response, 401, "unauthorized")


def test_the_token_of_a_banned_user_is_refused_at_once(server: LiveServer, make_person) -> None:  # type: ignore[no-untyped-def]
    dave = make_person("dave")
    assert dave.http.get("/users/me").status_code == 200
    server.cli("user", "ban", dave.username)
    assert_error(dave.http.get("/users/me"), 401, "unauthorized")
    server.cli("user", "unban", dave.username)
    # Banning deleted the tokens: unbanning does not bring them back.
    assert_error(dave.http.get("/users/me"), 401, "unauthorized")
    token = server.cli("token", "create", dave.username).stdout.strip().splitlines()[-1]
    me = server.get(f"{server.api}/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


def test_token_expiry_option(server: LiveServer) -> None:
    name = unique("erin")
    server.cli("user", "create", name)
    out = server.cli("token", "create", name, "--expires-days", "3").stdout
    token = out.strip().splitlines()[-1]
    me = server.get(f"{server.api}/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    bad = server.cli("token", "create", name, "--expires-days", "0", check=False)
    assert bad.returncode != 0


def test_a_token_for_an_unknown_user_is_an_error(server: LiveServer) -> None:
    result = server.cli("token", "create", unique("nobody"), check=False)
    assert result.returncode == 1
    assert "no user" in result.stderr


def test_users_manage_their_own_tokens(alice: Person, charlie: Person) -> None:
    created = alice.http.post("/users/me/tokens", json={"name": "ci", "expires_days": 2})
    assert created.status_code == 201
    secret = created.json()["token"]
    listed = alice.http.get("/users/me/tokens").json()["items"]
    ci = next(t for t in listed if t["name"] == "ci")
    assert secret not in str(listed)
    assert ci["prefix"] == secret[:10]
    # charlie cannot delete alice's token
    assert_error(charlie.http.delete(f"/users/me/tokens/{ci['id']}"), 404)
    assert alice.http.delete(f"/users/me/tokens/{ci['id']}").status_code == 204
    response = alice.server.get(
        f"{alice.server.api}/users/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert_error(response, 401)


def test_no_token_appears_in_plain_text_in_the_database_or_the_logs(
    server: LiveServer, alice: Person, committed: object
) -> None:
    secrets = [alice.token]
    login_name = unique("frank")
    server.cli("user", "create", login_name, "--password-stdin", input="correct horse battery\n")
    login = server.post(
        f"{server.api}/auth/login",
        json={"username": login_name, "password": "correct horse battery"},
    )
    secrets.append(login.json()["token"])
    for secret in secrets:
        server.get(f"{server.api}/users/me", headers={"Authorization": f"Bearer {secret}"})
    server.get(f"{server.api}/users/me", headers={"Authorization": "Bearer vh_wrong"})

    with committed():  # type: ignore[operator]
        dump = _dump_database()
    for secret in secrets:
        assert secret not in dump
        assert secret[3:] not in dump
        assert secret not in server.log()


def _dump_database() -> str:
    """Every row of every table, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT t::text FROM {quoted} t")  # noqa: S608
            else:
                cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608
            parts.extend(str(row) for row in cursor.fetchall())
    return "\n".join(parts)

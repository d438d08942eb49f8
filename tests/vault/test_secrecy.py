"""No credential in plain text anywhere but a reveal: not in the database, the server's log, the
admin, nor in errors; damaged or moved ciphertexts give a clean 409."""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from pathlib import Path

import httpx
from django.db import connection
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error, unique
from tests.vault.helpers import Stored, credentials, store

from visionhub.vault.models import Secret

Committed = Callable[[], AbstractContextManager[None]]


def _occurrences_in_database(needle: str) -> int:
    """Rows of any table (PostgreSQL) or bytes of the database files (SQLite) holding ``needle``."""
    if connection.vendor == "sqlite":
        base = Path(connection.settings_dict["NAME"])
        files = [str(p) for p in (base, base.with_name(base.name + "-wal")) if p.exists()]
        # Read in another process: closing a descriptor of the database file here would drop
        # this process's SQLite (POSIX) locks on it.
        data = subprocess.run(["cat", *files], capture_output=True, check=True).stdout
        return data.count(needle.encode())
    found = 0
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            sql = f"SELECT count(*) FROM {connection.ops.quote_name(table)} t WHERE strpos(t::text, %s) > 0"  # noqa: S608
            cursor.execute(sql, [needle])
            found += cursor.fetchone()[0]
    return found


def test_the_database_holds_no_credential_in_plain_text(
    alice: Person, committed: Committed
) -> None:
    stored = store(alice, description="marker-description")
    _, new_password = credentials()
    alice.http.post(f"/vault/secrets/{stored.name}/reveal")
    alice.http.patch(f"/vault/secrets/{stored.name}", json={"password": new_password})
    alice.http.post(f"/vault/secrets/{stored.name}/reveal")

    with committed():
        assert _occurrences_in_database("marker-description") > 0  # the probe does see the data
        for value in (stored.username, stored.password, new_password):
            assert _occurrences_in_database(value) == 0


def _flip_one_byte(sealed: str) -> str:
    fmt, key_id, body = sealed.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return ".".join([fmt, key_id, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")])


def test_a_tampered_ciphertext_is_a_clean_409_and_is_not_audited(
    alice: Person, server: LiveServer, committed: Committed
) -> None:
    stored = store(alice)
    with committed():
        secret = Secret.objects.get(owner_id=alice.user_id, name=stored.name)
        Secret.objects.filter(pk=secret.pk).update(
            password_sealed=_flip_one_byte(secret.password_sealed)
        )

    response = alice.http.post(f"/vault/secrets/{stored.name}/reveal")

    error = assert_error(response, 409, "secret_unreadable")
    assert error["details"] == {"key_id": stored.body["key_id"]}
    assert stored.username not in response.text
    assert alice.http.get(f"/vault/secrets/{stored.name}/audit").json()["items"] == []
    # new credentials need the old ones to be readable
    assert_error(
        alice.http.patch(f"/vault/secrets/{stored.name}", json={"username": "x"}),
        409,
        "secret_unreadable",
    )
    # metadata stays usable, and the owner can delete the damaged secret
    assert alice.http.patch(
        f"/vault/secrets/{stored.name}", json={"description": "broken"}
    ).is_success
    assert "Traceback" not in server.log()


def test_a_ciphertext_moved_to_another_row_or_field_does_not_open(
    alice: Person, committed: Committed
) -> None:
    first, second = store(alice), store(alice)
    with committed():
        rows = {s.name: s for s in Secret.objects.filter(name__in=[first.name, second.name])}
        Secret.objects.filter(pk=rows[second.name].pk).update(
            password_sealed=rows[first.name].password_sealed
        )
        Secret.objects.filter(pk=rows[first.name].pk).update(
            username_sealed=rows[first.name].password_sealed
        )

    for moved in (first, second):
        response = alice.http.post(f"/vault/secrets/{moved.name}/reveal")
        assert_error(response, 409, "secret_unreadable")
        assert first.password not in response.text


def test_the_server_log_never_holds_a_credential(alice: Person, server: LiveServer) -> None:
    stored = store(alice)
    _, other_password = credentials()
    alice.http.post(f"/vault/secrets/{stored.name}/reveal")
    alice.http.patch(f"/vault/secrets/{stored.name}", json={"password": other_password})
    alice.http.post("/vault/secrets", json={"name": "Bad Name", "password": other_password})
    alice.http.post("/vault/secrets", json={"name": stored.name, "password": other_password})
    alice.http.post(
        "/vault/secrets", content=b'{"name": "x", "password": "' + other_password.encode()
    )

    log = server.log()
    for value in (stored.username, stored.password, other_password):
        assert value not in log


ADMIN_PASSWORD = "admin password 123"


def _admin_session(server: LiveServer) -> httpx.Client:
    name = unique("vault-root")
    server.cli("user", "create", name, "--staff", "--password-stdin", input=ADMIN_PASSWORD + "\n")
    client = server.http(base_url=server.url, follow_redirects=False)
    page = client.get("/admin/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf is not None
    client.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": csrf.group(1), "username": name, "password": ADMIN_PASSWORD},
        headers={"Referer": f"{server.url}/admin/login/"},
    )
    return client


def test_the_admin_shows_metadata_but_never_a_credential_or_ciphertext(
    alice: Person, server: LiveServer, committed: Committed
) -> None:
    stored: Stored = store(alice, description="visible-in-admin")
    alice.http.post(f"/vault/secrets/{stored.name}/reveal")
    with committed():
        secret = Secret.objects.get(owner_id=alice.user_id, name=stored.name)
    sealed = (secret.username_sealed.split(".")[2][:20], secret.password_sealed.split(".")[2][:20])

    with closing(_admin_session(server)) as client:
        pages = [
            client.get("/admin/vault/secret/", params={"q": stored.name}),
            client.get(f"/admin/vault/secret/{secret.pk}/change/"),
            client.get("/admin/vault/secretaccess/", params={"q": stored.name}),
        ]
        for page in pages:
            assert page.status_code == 200, page.status_code
            for hidden in (stored.username, stored.password, *sealed):
                assert hidden not in page.text
        assert stored.name in pages[0].text and alice.username in pages[2].text
        assert "visible-in-admin" in pages[1].text
        assert client.get("/admin/vault/secret/add/").status_code == 403

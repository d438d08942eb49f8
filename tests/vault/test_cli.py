"""``visionhub vault add|list|reveal|audit|delete`` over HTTP, as the owner and as a stranger."""

from __future__ import annotations

from tests.conftest import LiveServer, Person
from tests.helpers import unique
from tests.vault.helpers import credentials


def test_the_owner_stores_lists_reveals_audits_and_deletes_from_the_command_line(
    alice: Person, server: LiveServer
) -> None:
    name = unique("cli")
    username, password = credentials()
    as_alice = {"VISIONHUB_TOKEN": alice.token}

    added = server.cli(
        "vault", "add", name, "--username", username, "--password-stdin",
        "--description", "from the cli", "--details", '{"port": 5432}',
        input=password + "\n", env=as_alice,
    )  # fmt: skip
    listed = server.cli("vault", "list", env=as_alice)
    revealed = server.cli("vault", "reveal", name, env=as_alice)
    only_password = server.cli("vault", "reveal", name, "--field", "password", env=as_alice)
    audit = server.cli("vault", "audit", name, env=as_alice)

    assert f"stored secret {name}" in added.stdout
    assert name in listed.stdout and "from the cli" in listed.stdout
    for output in (added.stdout, added.stderr, listed.stdout, audit.stdout):
        assert password not in output and username not in output
    assert f"username: {username}" in revealed.stdout
    assert f"password: {password}" in revealed.stdout
    assert only_password.stdout == password + "\n"
    assert len(audit.stdout.splitlines()) == 2 and alice.username in audit.stdout
    assert alice.http.get(f"/vault/secrets/{name}").json()["details"] == {"port": 5432}

    server.cli("vault", "delete", name, env=as_alice)
    assert alice.http.get(f"/vault/secrets/{name}").status_code == 404


def test_a_stranger_cannot_reveal_from_the_command_line(
    alice: Person, charlie: Person, server: LiveServer
) -> None:
    name = unique("cli")
    _, password = credentials()
    server.cli(
        "vault", "add", name, "--password-stdin", input=password + "\n",
        env={"VISIONHUB_TOKEN": alice.token},
    )  # fmt: skip

    for owner in ([], ["--owner", alice.username]):
        result = server.cli(
            "vault", "reveal", name, *owner, check=False, env={"VISIONHUB_TOKEN": charlie.token}
        )
        assert result.returncode == 1
        assert "not_found" in result.stderr and password not in result.stdout + result.stderr


def test_add_rejects_bad_details_before_sending_anything(alice: Person, server: LiveServer) -> None:
    result = server.cli(
        "vault", "add", unique("cli"), "--password-stdin", "--details", "[1, 2]",
        input="pw\n", check=False, env={"VISIONHUB_TOKEN": alice.token},
    )  # fmt: skip

    assert result.returncode == 2 and "JSON object" in result.stderr

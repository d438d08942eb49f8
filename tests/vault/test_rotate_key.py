"""``visionhub vault rotate-key``: every secret moves to the new key, none is lost even when the
command dies midway, and servers need the new key afterwards.

A rotation re-encrypts every secret of the test database, so each test rotates back at the end.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from tests.conftest import LiveServer, Person, start_server
from tests.helpers import assert_error
from tests.vault.helpers import store

from visionhub.vault import services
from visionhub.vault.crypto import DerivedKey, Keyring, associated_data, derive_key, unseal
from visionhub.vault.models import Secret

pytestmark = pytest.mark.process

Committed = Callable[[], AbstractContextManager[None]]


@dataclass(frozen=True)
class Keys:
    old_file: Path
    new_file: Path
    old: DerivedKey
    new: DerivedKey
    new_material: str


@pytest.fixture
def keys(tmp_path: Path, server: LiveServer) -> Iterator[Keys]:
    """The configured key (the test secret key) and a new one; rotates back afterwards."""
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    new_material = secrets.token_urlsafe(32)
    old_file.write_text(settings.SECRET_KEY + "\n")
    new_file.write_text(new_material + "\n")
    yield Keys(
        old_file, new_file, derive_key(settings.SECRET_KEY), derive_key(new_material), new_material
    )
    server.cli(
        "vault", "rotate-key", "--new-key-file", str(old_file), "--old-key-file", str(new_file)
    )


def _plain_vault(keyring: Keyring) -> dict[int, tuple[str, str]]:
    """Every secret in the database, decrypted in this process with ``keyring``."""
    opened = {}
    for s in Secret.objects.order_by("id"):
        aad = (s.pk, s.owner_id, s.name)
        opened[s.pk] = (
            unseal(keyring, s.username_sealed, associated_data(*aad, "username")).reveal(),
            unseal(keyring, s.password_sealed, associated_data(*aad, "password")).reveal(),
        )
    return opened


def test_an_interrupted_rotation_loses_nothing_and_the_next_run_finishes_it(
    alice: Person, server: LiveServer, committed: Committed, keys: Keys
) -> None:
    stored = [store(alice) for _ in range(25)]
    with committed():
        before = _plain_vault(Keyring(keys.old))
        total = len(before)
        assert services.key_usage() == {keys.old.key_id: total}
    rotate = ("vault", "rotate-key", "--new-key-file", str(keys.new_file), "--batch-size", "10")

    crashed = server.cli(*rotate, "--crash-after", "15", check=False)

    assert crashed.returncode == 3, crashed.stderr
    with committed():
        # the first batch was committed, the second died after 5 of its rows and rolled back
        assert services.key_usage() == {keys.new.key_id: 10, keys.old.key_id: total - 10}
        assert _plain_vault(Keyring.of(keys.new, [keys.old])) == before
    last = alice.http.get(f"/vault/secrets/{stored[-1].name}").json()
    assert last["key_id"] == keys.old.key_id  # the live server still reads unrotated rows
    assert alice.http.post(f"/vault/secrets/{stored[-1].name}/reveal").json()["password"] == (
        stored[-1].password
    )

    finished = server.cli(*rotate)

    assert f"re-encrypted {total - 10} secrets under key {keys.new.key_id}" in finished.stdout
    with committed():
        assert services.key_usage() == {keys.new.key_id: total}
        assert _plain_vault(Keyring(keys.new)) == before
    again = server.cli(*rotate)
    assert "re-encrypted 0 secrets" in again.stdout
    for output in (crashed.stdout, crashed.stderr, finished.stdout, finished.stderr):
        assert stored[0].password not in output and keys.new_material not in output


def test_after_a_rotation_servers_need_the_new_key(
    alice: Person,
    server: LiveServer,
    process_env: dict[str, str],
    tmp_path: Path,
    keys: Keys,
) -> None:
    stored = store(alice)
    server.cli(
        "vault",
        "rotate-key",
        "--new-key-env",
        "NEW_VAULT_KEY",
        env={"NEW_VAULT_KEY": keys.new_material},
    )

    stale = alice.http.post(f"/vault/secrets/{stored.name}/reveal")
    error = assert_error(stale, 409, "secret_unreadable")
    assert error["details"] == {"key_id": keys.new.key_id}

    restarted = start_server(process_env, tmp_path, {"VISIONHUB_VAULT_KEY": keys.new_material})
    try:
        revealed = alice.http.post(f"{restarted.api}/vault/secrets/{stored.name}/reveal").json()
        assert (revealed["username"], revealed["password"]) == (stored.username, stored.password)
        created = alice.http.post(
            f"{restarted.api}/vault/secrets", json={"name": f"{stored.name}-2", "password": "p"}
        )
        assert created.json()["key_id"] == keys.new.key_id
    finally:
        restarted.stop()
    assert stored.password not in restarted.log()


def test_secrets_under_a_key_the_command_lacks_are_left_untouched(
    alice: Person, server: LiveServer, committed: Committed, keys: Keys, tmp_path: Path
) -> None:
    store(alice)
    server.cli("vault", "rotate-key", "--new-key-file", str(keys.new_file))
    third = tmp_path / "third.key"
    third.write_text(secrets.token_urlsafe(32))
    with committed():
        usage = services.key_usage()

    result = server.cli("vault", "rotate-key", "--new-key-file", str(third), check=False)

    assert result.returncode == 1
    assert f"under key {keys.new.key_id}" in result.stderr and "--old-key-file" in result.stderr
    with committed():
        assert services.key_usage() == usage


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--new-key-file", "{file}", "--new-key-env", "HOME"],
        ["--new-key-env", "VISIONHUB_NO_SUCH_VARIABLE"],
        ["--new-key-file", "{short}"],
    ],
)
def test_rotate_key_refuses_a_missing_or_weak_key(
    server: LiveServer, tmp_path: Path, args: list[str]
) -> None:
    good, short = tmp_path / "good.key", tmp_path / "short.key"
    good.write_text(secrets.token_urlsafe(32))
    short.write_text("too-short")
    filled = [a.replace("{file}", str(good)).replace("{short}", str(short)) for a in args]

    result = server.cli("vault", "rotate-key", *filled, check=False)

    assert result.returncode == 2, result.stderr

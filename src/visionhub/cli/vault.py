"""``visionhub vault``: client verbs over HTTP, and ``rotate-key`` on the server's database."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from visionhub.cli.common import client_options, fail
from visionhub.client.base import ClientError
from visionhub.client.vault import VaultClient

MIN_KEY_CHARS = 16


@click.group()
def vault() -> None:
    """The credentials vault: store, list and reveal secrets; rotate the encryption key."""


def _client(server: str, token: str | None) -> VaultClient:
    if not token:
        raise click.UsageError("no token: pass --token or set VISIONHUB_TOKEN")
    return VaultClient(server, token)


owner_option = click.option("--owner", help="Another user's vault (staff only).")


@vault.command("list")
@owner_option
@client_options
def list_(owner: str | None, server: str, token: str | None) -> None:
    """List secrets (names and descriptions; never credentials)."""
    try:
        for item in _client(server, token).list_secrets(owner=owner):
            click.echo(f"{item['name']}\t{item['updated_at']}\t{item['description']}")
    except ClientError as exc:
        fail(exc)


@vault.command("add")
@click.argument("name")
@click.option("--username", default="", help="The credential's user name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--description", default="")
@click.option("--details", default="{}", help="JSON object of non-secret details.")
@client_options
def add(
    name: str,
    username: str,
    password_stdin: bool,
    description: str,
    details: str,
    server: str,
    token: str | None,
) -> None:
    """Store the secret NAME; the password is prompted for (hidden) unless --password-stdin."""
    try:
        parsed: Any = json.loads(details)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--details") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--details")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.UsageError("empty password")
    try:
        created = _client(server, token).create_secret(
            name, username=username, password=password, description=description, details=parsed
        )
    except ClientError as exc:
        fail(exc)
    else:
        click.echo(f"stored secret {created['name']}")


@vault.command("reveal")
@click.argument("name")
@owner_option
@click.option(
    "--field",
    type=click.Choice(["username", "password"]),
    help="Print only this value, alone on one line (for scripts).",
)
@client_options
def reveal(name: str, owner: str | None, field: str | None, server: str, token: str | None) -> None:
    """Print the credentials of NAME. Every reveal is recorded in the secret's audit log."""
    try:
        revealed = _client(server, token).reveal_secret(name, owner=owner)
    except ClientError as exc:
        fail(exc)
    else:
        if field:
            click.echo(revealed[field])
        else:
            click.echo(f"username: {revealed['username']}\npassword: {revealed['password']}")


@vault.command("delete")
@click.argument("name")
@owner_option
@client_options
def delete(name: str, owner: str | None, server: str, token: str | None) -> None:
    """Delete the secret NAME and its audit log."""
    try:
        _client(server, token).delete_secret(name, owner=owner)
    except ClientError as exc:
        fail(exc)
    else:
        click.echo(f"deleted secret {name}")


@vault.command("audit")
@click.argument("name")
@owner_option
@client_options
def audit(name: str, owner: str | None, server: str, token: str | None) -> None:
    """Who revealed NAME, when and from where (newest first)."""
    try:
        for item in _client(server, token).secret_audit(name, owner=owner):
            click.echo(
                f"{item['at']}\t{item['username']}\t{item['ip'] or '-'}\t{item['user_agent']}"
            )
    except ClientError as exc:
        fail(exc)


def _key_material(what: str, *, path: Path | None = None, env_name: str | None = None) -> str:
    if path is not None:
        material = path.read_text().strip()
    else:
        material = os.environ.get(env_name or "", "").strip()
    if len(material) < MIN_KEY_CHARS:
        raise click.UsageError(f"{what} must be at least {MIN_KEY_CHARS} characters")
    return material


key_file = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@vault.command("rotate-key")
@click.option("--new-key-file", type=key_file, help="File holding the new key.")
@click.option("--new-key-env", metavar="VAR", help="Environment variable holding the new key.")
@click.option(
    "--old-key-file",
    type=key_file,
    multiple=True,
    help="A key secrets may still be sealed with (repeatable); the configured key always is.",
)
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.option("--crash-after", type=click.IntRange(1), hidden=True)  # tests: die after N rows
def rotate_key(
    new_key_file: Path | None,
    new_key_env: str | None,
    old_key_file: tuple[Path, ...],
    batch_size: int,
    crash_after: int | None,
) -> None:
    """Re-encrypt every secret under a new key (runs against the server's database).

    Safe to interrupt and run again: it continues with the secrets still under an old key.
    Afterwards restart every server with VISIONHUB_VAULT_KEY set to the new key.
    """
    if (new_key_file is None) == (new_key_env is None):
        raise click.UsageError("give exactly one of --new-key-file and --new-key-env")
    new_material = _key_material("the new key", path=new_key_file, env_name=new_key_env)
    old_materials = [_key_material("an old key", path=path) for path in old_key_file]
    from rich.progress import Progress

    from visionhub.cli.django_setup import setup_django

    setup_django()
    from visionhub.vault import crypto, services
    from visionhub.vault.models import Secret

    new_key = crypto.derive_key(new_material)
    old_keys = [crypto.derive_key(material) for material in old_materials]
    keyring = crypto.Keyring.of(new_key, [*old_keys, crypto.configured_key()])
    rows = 0

    def after_row(secret: Secret) -> None:
        nonlocal rows
        rows += 1
        if crash_after is not None and rows >= crash_after:
            os._exit(3)  # simulates a crash in the middle of a batch

    total = Secret.objects.exclude(key_id=new_key.key_id).count()
    with Progress(transient=True) as progress:
        task = progress.add_task("re-encrypting", total=total)
        report = services.rotate_keys(
            keyring,
            batch_size=batch_size,
            on_batch=lambda n: progress.advance(task, n),
            after_row=after_row,
        )
    click.echo(f"re-encrypted {report.rotated} secrets under key {new_key.key_id}")
    usage = ", ".join(f"{key_id}: {n}" for key_id, n in services.key_usage().items())
    click.echo(f"secrets per key: {usage or 'none'}")
    if report.unreadable:
        listing = ", ".join(f"{n} under key {k}" for k, n in sorted(report.unreadable.items()))
        raise click.ClickException(
            f"left untouched, unreadable with the keys given: {listing}; "
            "pass their keys with --old-key-file and run again"
        )
    click.echo(
        "now restart every server with VISIONHUB_VAULT_KEY set to the new key "
        "(and run this again if a server sealed secrets under the old key meanwhile)"
    )

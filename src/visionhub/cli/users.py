"""``visionhub user create|ban|unban|worker``: server-side, through the accounts services."""

from __future__ import annotations

import sys

import click

from visionhub.cli.django_setup import setup_django


@click.group()
def user() -> None:
    """Manage users (runs against the server's database)."""


@user.command("create")
@click.argument("username")
@click.option("--staff", is_flag=True, help="Administrator: may do anything, uses /admin/.")
@click.option("--worker", is_flag=True, help="May claim classification work.")
@click.option("--email", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(username: str, staff: bool, worker: bool, email: str, password_stdin: bool) -> None:
    """Create USERNAME."""
    setup_django()
    from visionhub.accounts import services
    from visionhub.core.errors import ApiError

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise click.UsageError("empty password on standard input")
    try:
        created = services.create_user(
            username, password=password, email=email, staff=staff, worker=worker
        )
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created user {created.username} (id {created.pk})")


def _set_ban(username: str, banned: bool) -> None:
    setup_django()
    from visionhub.accounts import access, services
    from visionhub.core.errors import ApiError

    try:
        target = access.get_user_by_username(username)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    if banned:
        services.ban_user(target)
        click.echo(f"banned {username}; all their tokens are revoked")
    else:
        services.unban_user(target)
        click.echo(f"unbanned {username}")


@user.command("ban")
@click.argument("username")
def ban(username: str) -> None:
    """Deactivate USERNAME and revoke every token of theirs."""
    _set_ban(username, True)


@user.command("unban")
@click.argument("username")
def unban(username: str) -> None:
    """Reactivate USERNAME (they need new tokens)."""
    _set_ban(username, False)

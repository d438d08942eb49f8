"""``visionhub user create|ban|unban|worker|list|delete|reset-password``: server-side, through
the accounts services."""

from __future__ import annotations

import sys
from typing import Any

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


def _target(username: str) -> Any:
    from visionhub.accounts import access
    from visionhub.core.errors import ApiError

    try:
        return access.get_user_by_username(username)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None


@user.command("list")
@click.option("--search", default="", help="Only users with this text in username or e-mail.")
def list_users(search: str) -> None:
    """Print every user: username, e-mail, staff, worker, active (tab-separated)."""
    setup_django()
    from visionhub.accounts import access
    from visionhub.accounts.models import User
    from visionhub.core.errors import ApiError

    qs = User.objects.order_by("username", "id")
    if search:
        try:
            qs = qs.filter(access.user_terms([search]))
        except ApiError as exc:
            raise click.ClickException(exc.message) from None
    click.echo("username\temail\tstaff\tworker\tactive")
    for row in qs.iterator(chunk_size=1000):
        flags = ("yes" if f else "no" for f in (row.is_staff, row.is_worker, row.is_active))
        click.echo("\t".join([row.username, row.email, *flags]))


@user.command("delete")
@click.argument("username")
def delete(username: str) -> None:
    """Delete USERNAME (refused while they own datasets, models, deployments, …)."""
    setup_django()
    from visionhub.accounts import services
    from visionhub.core.errors import ApiError

    target = _target(username)
    try:
        services.delete_user(target, by=None)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"deleted user {username}")


@user.command("reset-password")
@click.argument("username")
def reset_password(username: str) -> None:
    """Give USERNAME a new random password, printed once, alone on the last line."""
    setup_django()
    from visionhub.accounts import services

    password = services.reset_password(_target(username), by=None)
    click.echo(f"new password of {username} (shown once; their tokens are revoked):")
    click.echo(password)

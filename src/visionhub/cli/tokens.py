"""``visionhub token create``: prints the new token once, alone on its last line."""

from __future__ import annotations

from datetime import timedelta

import click

from visionhub.cli.django_setup import setup_django


@click.group()
def token() -> None:
    """Manage API tokens (runs against the server's database)."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True)
@click.option("--expires-days", type=click.IntRange(min=1), default=None)
def create(username: str, name: str, expires_days: int | None) -> None:
    """Issue a token for USERNAME. Store it now: it is never shown again."""
    setup_django()
    from visionhub.accounts import access, services
    from visionhub.core.errors import ApiError

    try:
        owner = access.get_user_by_username(username)
        issued = services.issue_token(
            owner,
            name=name,
            expires_in=timedelta(days=expires_days) if expires_days else None,
        )
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    expiry = issued.token.expires_at.isoformat() if issued.token.expires_at else "never"
    click.echo(f"token {name!r} for {username}, expires {expiry}:", err=False)
    click.echo(issued.secret)

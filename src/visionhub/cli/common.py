"""Options shared by the client verbs: where the server is and which token to use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from visionhub.client import Client, ClientError
from visionhub.client.retry import DEFAULT_POLICY, RetryPolicy

F = TypeVar("F", bound=Callable[..., Any])


def client_options(func: F) -> F:
    func = click.option(
        "--token", envvar="VISIONHUB_TOKEN", help="API token (or VISIONHUB_TOKEN)."
    )(func)
    func = click.option(
        "--server",
        envvar="VISIONHUB_SERVER",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="Server URL (or VISIONHUB_SERVER).",
    )(func)
    return func


def make_client(server: str, token: str | None, *, retry: RetryPolicy = DEFAULT_POLICY) -> Client:
    if not token:
        raise click.UsageError("no token: pass --token or set VISIONHUB_TOKEN")
    return Client(server, token, retry=retry)


def fail(exc: ClientError) -> None:
    """Report a server error the way every client verb does, and exit 1."""
    detail = f" {exc.details}" if exc.details else ""
    raise click.ClickException(f"{exc.code}: {exc.message}{detail}")

"""``visionhub deploy NAME --model NAME:VERSION``: create a deployment or roll it out."""

from __future__ import annotations

import click

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import ClientError
from visionhub.client.registry import split_ref


@click.command("deploy")
@click.argument("name")
@click.option("--model", "ref", required=True, help="The model version to serve, NAME:VERSION.")
@click.option("--replication", type=click.IntRange(min=1), help="Workers per request (default 1).")
@click.option("--quorum", type=click.IntRange(min=1), help="Identical answers needed (default 1).")
@client_options
def deploy(
    name: str,
    ref: str,
    replication: int | None,
    quorum: int | None,
    server: str,
    token: str | None,
) -> None:
    """Serve NAME:VERSION as deployment NAME; if NAME exists, roll it out to that version."""
    try:
        model, version = split_ref(ref)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--model") from None
    try:
        result = make_client(server, token).deploy(
            name, model, version, replication=replication, quorum=quorum
        )
    except ClientError as exc:
        fail(exc)
        return
    click.echo(
        f"deployment {result['name']} serves {result['model']}:{result['version']}"
        f" (replication {result['replication']}, quorum {result['quorum']})"
    )

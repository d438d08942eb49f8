"""``visionhub training …``: create trainings and report their progress from scripts."""

from __future__ import annotations

import json
from typing import Any

import click

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import ClientError


@click.group("training")
def training() -> None:
    """Trainings: create one, report its progress, show it."""


def _metric(value: str) -> tuple[str, Any]:
    key, sep, raw = value.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"expected KEY=VALUE, not {value!r}", param_hint="--metric")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def _show(item: dict[str, Any]) -> None:
    click.echo(
        f"training {item['id']} {item['name'] or '-'}: {item['state']}"
        f" {item['progress']:.3f} (updated {item['update_time']})"
    )


@training.command("create")
@click.option("--name", default="")
@click.option("--project", help="The project it belongs to.")
@click.option("--build-version", help="The project's build (tag) it runs.")
@click.option("--notebook", default="", help="Path of the training notebook in the project.")
@click.option("--details", default="{}", help="JSON object.")
@client_options
def create(
    name: str,
    project: str | None,
    build_version: str | None,
    notebook: str,
    details: str,
    server: str,
    token: str | None,
) -> None:
    """Create a WAITING training; its id is printed alone on the last line."""
    try:
        parsed = json.loads(details)
    except ValueError:
        raise click.BadParameter("must be a JSON object", param_hint="--details") from None
    try:
        item = make_client(server, token).create_training(
            name,
            project=project,
            build_version=build_version,
            notebook=notebook,
            details=parsed,
        )
    except ClientError as exc:
        fail(exc)
        return
    _show(item)
    click.echo(item["id"])


@training.command("progress")
@click.argument("training_id", type=int)
@click.option("--progress", type=click.FloatRange(0, 1), required=True, help="0 to 1.")
@click.option(
    "--state",
    type=click.Choice(
        ["WAITING", "RUNNING", "FINISHED", "FAILED", "CANCELLED"], case_sensitive=False
    ),
)
@click.option("--metric", "metrics", multiple=True, help="KEY=VALUE (JSON values); repeatable.")
@client_options
def progress(
    training_id: int,
    progress: float,
    state: str | None,
    metrics: tuple[str, ...],
    server: str,
    token: str | None,
) -> None:
    """Report progress (never backwards), maybe a new state, and metrics of TRAINING_ID."""
    values = dict(_metric(m) for m in metrics)
    try:
        item = make_client(server, token).report_progress(
            training_id, progress, state.upper() if state else None, **values
        )
    except ClientError as exc:
        fail(exc)
        return
    _show(item)


@training.command("show")
@click.argument("training_id", type=int)
@client_options
def show(training_id: int, server: str, token: str | None) -> None:
    """Print a training as JSON."""
    try:
        item = make_client(server, token).get_training(training_id)
    except ClientError as exc:
        fail(exc)
        return
    click.echo(json.dumps(item, indent=2))


@training.command("list")
@click.option("--state", help="Only trainings in this state.")
@client_options
def list_(state: str | None, server: str, token: str | None) -> None:
    """Your trainings, newest first."""
    try:
        for item in make_client(server, token).list_trainings(state.upper() if state else None):
            _show(item)
    except ClientError as exc:
        fail(exc)

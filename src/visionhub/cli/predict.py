"""``visionhub predict --deployment NAME --dataset NAME --label-set NAME``: a client verb that
runs a deployment over a dataset into a Pred label set, with a progress bar."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import ClientError

console = Console(stderr=True)


@click.command("predict")
@client_options
@click.option("--deployment", required=True, help="The deployment that predicts.")
@click.option("--dataset", required=True, help="The dataset (name, owner/name or id).")
@click.option("--label-set", "label_set", required=True, help="The Pred label set to fill.")
@click.option("--priority", type=int, default=0, show_default=True)
@click.option("--no-wait", is_flag=True, help="Print the run's id and return at once.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=24 * 3600,
    show_default=True,
    help="Give up waiting after this many seconds (the run goes on).",
)
def predict(
    server: str,
    token: str | None,
    deployment: str,
    dataset: str,
    label_set: str,
    priority: int,
    no_wait: bool,
    timeout: float,
) -> None:
    """Run DEPLOYMENT over every image of DATASET; the answers become annotations (with their
    confidence) in the Pred label set LABEL_SET. Images already predicted into it are skipped,
    so running it again finishes an interrupted run. Prints ``run ID: …`` when done; exits 1
    if any image failed."""
    client = make_client(server, token)
    try:
        ref: int | str = int(dataset) if dataset.isdigit() else dataset
        run = client.create_run(deployment, ref, label_set, priority=priority)
        if no_wait:
            click.echo(f"run {run['id']}: {run['queued']} queued, {run['skipped']} skipped")
            return
        run = _follow(client, deployment, run, time.monotonic() + timeout)
        click.echo(
            f"run {run['id']}: {run['done']} done, {run['failed']} failed, "
            f"{run['cancelled']} cancelled, {run['pending']} pending, {run['skipped']} skipped; "
            f"{run['annotations']} annotations in {run['label_set']!r}"
        )
        if run["failed"] or run["pending"]:
            raise click.exceptions.Exit(1)
    except ClientError as exc:
        fail(exc)
    finally:
        client.close()


def _follow(client: Any, deployment: str, run: dict[str, Any], deadline: float) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bars:
        task = bars.add_task(f"run {run['id']}", total=run["queued"], failed=0)
        while True:
            ended = run["queued"] - run["pending"]
            bars.update(task, completed=ended, failed=run["failed"])
            if run["status"] != "running" or time.monotonic() >= deadline:
                return run
            time.sleep(1.0)
            run = client.get_run(deployment, run["id"])

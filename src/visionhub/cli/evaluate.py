"""``visionhub evaluate DATASET --gt NAME --pred NAME``: a client verb (HTTP only)."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import ClientError


@click.command("evaluate")
@client_options
@click.argument("dataset")
@click.option("--gt", required=True, help="The ground-truth label set.")
@click.option("--pred", required=True, help="The label set of predictions to measure.")
@click.option(
    "--iou-type",
    type=click.Choice(["bbox", "segm", "keypoints", "classification"]),
    default="bbox",
    show_default=True,
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=JSON",
    help="An evaluation parameter, e.g. confusion_confidence=0.5 (repeatable).",
)
@click.option("--wait", is_flag=True, help="Wait for the result (progress bar) and print it.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole evaluation as JSON.")
@click.option("--timeout", type=click.FloatRange(min=1), default=3600, show_default=True)
def evaluate(
    server: str,
    token: str | None,
    dataset: str,
    gt: str,
    pred: str,
    iou_type: str,
    params: tuple[str, ...],
    wait: bool,
    as_json: bool,
    timeout: float,
) -> None:
    """Measure label set PRED against GT in DATASET (a name or an id); prints the summary
    as pycocotools does (or accuracy and per-class scores for classification)."""
    options: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--param {item!r}: expected KEY=JSON")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    client = make_client(server, token)
    try:
        dataset_id = int(client.dataset(dataset)["id"])
        started = client.evaluations.create(
            dataset_id, gt=gt, pred=pred, iou_type=iou_type, params=options
        )
        if not wait:
            click.echo(
                json.dumps(started)
                if as_json
                else f"evaluation {started['id']} {started['status']}"
            )
            return
        state = _wait_with_bar(client, int(started["id"]), timeout, quiet=as_json)
    except ClientError as exc:
        fail(exc)
        return
    except TimeoutError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(state, indent=2))
    elif state["status"] == "failed":
        raise click.ClickException(f"evaluation {state['id']} failed: {state['error']}")
    else:
        click.echo(_summary(state))
    if state["status"] == "failed":
        raise SystemExit(1)


def _wait_with_bar(client: Any, evaluation_id: int, timeout: float, *, quiet: bool) -> Any:
    with Progress(
        TextColumn("evaluation {task.fields[eid]} {task.fields[status]}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("evaluate", total=1.0, eid=evaluation_id, status="queued")

        def update(state: dict[str, Any]) -> None:
            bar.update(task, completed=state["progress"], status=state["status"])

        return client.evaluations.wait(evaluation_id, timeout=timeout, progress=update)


def _summary(state: dict[str, Any]) -> str:
    metrics = state["metrics"] or {}
    head = f"evaluation {state['id']}: {state['pred']['name']} against {state['gt']['name']} ({state['iou_type']})"
    if state["iou_type"] == "classification":
        lines = [head, f"accuracy: {metrics['accuracy']:.3f}"]
        lines += [
            f"top-{k} accuracy: {v:.3f}" for k, v in metrics["top_k_accuracy"].items() if k != "1"
        ]
        lines.append(f"{'class':<20} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
        for row in metrics["per_class"]:
            lines.append(
                f"{row['category']:<20} {row['precision']:>9.3f} {row['recall']:>9.3f} "
                f"{row['f1']:>9.3f} {row['support']:>8d}"
            )
        return "\n".join(lines)
    return f"{head}\n{metrics['summary']}"

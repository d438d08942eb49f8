"""``visionhub classify --deployment NAME IMAGE... [--wait]``: a client verb (HTTP only)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import ClientError

_DONE = frozenset({"completed", "failed", "cancelled"})


@click.command("classify")
@client_options
@click.option("--deployment", required=True, help="The deployment that classifies the images.")
@click.argument(
    "images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--wait", is_flag=True, help="Wait for the results and print them.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="With --wait: give up after this many seconds.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Scores printed per image.",
)
def classify(
    server: str,
    token: str | None,
    deployment: str,
    images: tuple[Path, ...],
    wait: bool,
    timeout: float,
    top: int,
) -> None:
    """Queue IMAGE... for classification by DEPLOYMENT; one line per image:
    ``IMAGE  ID  STATUS`` or, with --wait, ``IMAGE  LABEL  class=score …`` (detection
    deployments: ``IMAGE  N detections`` then one indented line per box, best first:
    ``label score x,y,w,h``, with ``mask`` when it has one)."""
    client = make_client(server, token)
    try:
        queued = [(path, client.classify(deployment, path)) for path in images]
        if not wait:
            for path, request in queued:
                click.echo(f"{path}\t{request['id']}\t{request['status']}")
            return
        deadline = time.monotonic() + timeout
        failed = False
        for path, request in queued:
            final = _wait_for(client, request["id"], deadline)
            click.echo(f"{path}\t{_describe(final, top)}")
            failed = failed or final["status"] != "completed"
        if failed:
            raise click.exceptions.Exit(1)
    except ClientError as exc:
        fail(exc)
    finally:
        client.close()


def _wait_for(client: Any, request_id: int, deadline: float) -> dict[str, Any]:
    while True:
        left = deadline - time.monotonic()
        request: dict[str, Any] = client.get_classification(
            request_id, wait=max(0.0, min(30.0, left))
        )
        if request["status"] in _DONE or left <= 0:
            return request


def _describe(request: dict[str, Any], top: int) -> str:
    status = request["status"]
    result = request.get("result")
    if status == "completed" and result and result.get("detections") is not None:
        detections = result["detections"]
        lines = [f"{len(detections)} detections"]
        for d in detections:
            box = ",".join(f"{v:.1f}" for v in d["box"])
            lines.append(
                f"  {d['label']}\t{d['score']:.3f}\t{box}" + ("\tmask" if d.get("mask") else "")
            )
        return "\n".join(lines)
    if status == "completed" and result:
        scores = sorted(result.get("scores", {}).items(), key=lambda kv: -kv[1])[:top]
        shown = " ".join(f"{name}={score:.3f}" for name, score in scores)
        return f"{result['label']}\t{shown}"
    errors = "; ".join(str(e) for e in request.get("errors") or [])
    return f"{status}" + (f"\t{errors}" if errors else "") + f"\t(id {request['id']})"

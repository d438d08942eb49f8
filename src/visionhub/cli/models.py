"""``visionhub model …``: the model registry from the command line (client verbs, HTTP only)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import ClientError
from visionhub.client.registry import split_ref


@click.group("model")
def model() -> None:
    """Model definitions and versions: create, push, pull, list, export, import, delete."""


@contextmanager
def transfer_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar (on standard error) and the callback that advances it."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True, console=None) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _ref(value: str) -> tuple[str, str]:
    try:
        return split_ref(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _json_object(value: str | None, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise click.BadParameter(f"{what} must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter(f"{what} must be a JSON object")
    return parsed


def _parse_file_spec(value: str) -> dict[str, Any]:
    """``NAME[:MAX_MB][:optional]`` → a file spec."""
    name, *rest = value.split(":")
    spec: dict[str, Any] = {"name": name, "required": True, "max_mb": None}
    for item in rest:
        if item == "optional":
            spec["required"] = False
        elif item:
            try:
                spec["max_mb"] = float(item)
            except ValueError:
                raise click.BadParameter(f"bad file spec {value!r}") from None
    return spec


def _floats(value: str | None) -> list[float] | None:
    if value is None:
        return None
    try:
        return [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, not {value!r}") from None


@model.command("create")
@click.argument("name")
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with the whole definition (task, classes, input, output, files, description).",
)
@click.option("--classes", help="Comma-separated class names, in output order.")
@click.option("--task", default=None, help="classification (default), detection or segmentation.")
@click.option("--input-width", type=int)
@click.option("--input-height", type=int)
@click.option("--channels", type=click.Choice(["1", "3"]), default=None)
@click.option("--layout", type=click.Choice(["NCHW", "NHWC", "flat"]), default=None)
@click.option("--scale", type=float, default=None, help="Pixel multiplier (default 1/255).")
@click.option("--mean", help="Comma-separated, one per channel.")
@click.option("--std", help="Comma-separated, one per channel.")
@click.option("--output", type=click.Choice(["logits", "probabilities"]), default=None)
@click.option(
    "--file",
    "files",
    multiple=True,
    help="File spec NAME[:MAX_MB][:optional]; repeatable (default: model.onnx).",
)
@click.option("--description", default=None)
@client_options
def create(
    name: str,
    spec_file: Path | None,
    classes: str | None,
    task: str | None,
    input_width: int | None,
    input_height: int | None,
    channels: str | None,
    layout: str | None,
    scale: float | None,
    mean: str | None,
    std: str | None,
    output: str | None,
    files: tuple[str, ...],
    description: str | None,
    server: str,
    token: str | None,
) -> None:
    """Create model definition NAME (options override what --spec gives)."""
    spec: dict[str, Any] = json.loads(spec_file.read_text()) if spec_file else {}
    if not isinstance(spec, dict):
        raise click.BadParameter("the spec file must hold a JSON object")
    input_spec: dict[str, Any] = dict(spec.get("input") or {})
    options = {
        "width": input_width,
        "height": input_height,
        "channels": int(channels) if channels else None,
        "layout": layout,
        "scale": scale,
        "mean": _floats(mean),
        "std": _floats(std),
        "output": output,
    }
    input_spec.update({k: v for k, v in options.items() if v is not None})
    if "width" not in input_spec or "height" not in input_spec:
        raise click.UsageError("give --input-width and --input-height (or --spec)")
    class_names = classes.split(",") if classes is not None else spec.get("classes", [])
    file_specs = [_parse_file_spec(f) for f in files] if files else spec.get("files")
    try:
        created = make_client(server, token).create_model(
            name,
            input=input_spec,
            classes=[c.strip() for c in class_names],
            files=file_specs,
            task=task or spec.get("task", "classification"),
            description=description if description is not None else spec.get("description", ""),
            output=spec.get("output"),
        )
    except ClientError as exc:
        fail(exc)
        return
    click.echo(f"created model {created['name']} ({len(created['classes'])} classes)")


def _named_files(paths: tuple[str, ...]) -> dict[str, Path]:
    """``FILE`` is sent under its own name, ``SPEC=FILE`` under SPEC."""
    named: dict[str, Path] = {}
    for item in paths:
        spec, sep, path = item.partition("=")
        if not sep or Path(item).exists():
            spec, path = Path(item).name, item
        if not Path(path).is_file():
            raise click.BadParameter(f"no such file: {path}")
        named[spec] = Path(path)
    return named


@model.command("push")
@click.argument("name")
@click.argument("files", nargs=-1, required=True)
@click.option("--dataset", help="The dataset it was trained on (name, owner/name or id).")
@click.option("--pretrained", help="The version it was fine-tuned from, NAME:VERSION.")
@click.option("--training", type=int, help="The training (id) that produced it.")
@click.option("--details", help="JSON object of details (metrics, …).")
@click.option("--name", "version_name", help="A name for the version (besides its number).")
@client_options
def push(
    name: str,
    files: tuple[str, ...],
    dataset: str | None,
    pretrained: str | None,
    training: int | None,
    details: str | None,
    version_name: str | None,
    server: str,
    token: str | None,
) -> None:
    """Upload FILE... as the next version of model NAME (FILE or SPEC_NAME=FILE)."""
    named = _named_files(files)
    total = sum(p.stat().st_size for p in named.values())
    client = make_client(server, token)
    try:
        with transfer_bar(f"push {name}", total) as advance:
            version = client.push_model(
                name,
                named,
                dataset=dataset,
                training=training,
                pretrained=pretrained,
                details=_json_object(details, "--details"),
                version_name=version_name,
                progress=advance,
            )
    except ClientError as exc:
        fail(exc)
        return
    for file in version["files"]:
        click.echo(f"{file['name']}\t{file['size']}\t{file['sha256']}")
    click.echo(f"pushed {name}:{version['version']}")


@model.command("pull")
@click.argument("ref")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@client_options
def pull(ref: str, out_dir: Path, server: str, token: str | None) -> None:
    """Download every file of NAME:VERSION into --out (checked against their sha256)."""
    name, version = _ref(ref)
    client = make_client(server, token)
    try:
        info = client.get_version(name, version)
        total = sum(f["size"] for f in info["files"])
        with transfer_bar(f"pull {name}:{info['version']}", total) as advance:
            client.pull_model(name, info["version"], out_dir, progress=advance)
    except ClientError as exc:
        fail(exc)
        return
    for file in info["files"]:
        click.echo(str(out_dir / file["name"]))


@model.command("list")
@client_options
def list_(server: str, token: str | None) -> None:
    """Models you own or share: name, owner, task, latest version, classes."""
    try:
        for item in make_client(server, token).list_models():
            latest = item["latest_version"] if item["latest_version"] is not None else "-"
            classes = ",".join(item["classes"])
            click.echo(f"{item['name']}\t{item['owner']}\t{item['task']}\t{latest}\t{classes}")
    except ClientError as exc:
        fail(exc)


@model.command("versions")
@click.argument("name")
@client_options
def versions(name: str, server: str, token: str | None) -> None:
    """Versions of model NAME, newest first."""
    try:
        for item in make_client(server, token).list_versions(name):
            size = sum(f["size"] for f in item["files"])
            click.echo(f"{item['version']}\t{item['name'] or '-'}\t{item['uploaded_on']}\t{size}")
    except ClientError as exc:
        fail(exc)


@model.command("lineage")
@click.argument("ref")
@client_options
def lineage(ref: str, server: str, token: str | None) -> None:
    """NAME:VERSION and its pretrained ancestors, with their trainings and datasets."""
    name, version = _ref(ref)
    try:
        chain = make_client(server, token).lineage(name, version)["chain"]
    except ClientError as exc:
        fail(exc)
        return
    for depth, item in enumerate(chain):
        training = item.get("training") or item.get("training_snapshot") or {}
        dataset = item.get("dataset") or item.get("dataset_snapshot") or {}
        click.echo(
            f"{'  ' * depth}{item['model']}:{item['version']}"
            f"  training={training.get('id', '-')}  dataset={dataset.get('name', '-')}"
            f"  [{item.get('source', 'live')}]"
        )


@model.command("export")
@click.argument("ref")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@client_options
def export(ref: str, out_file: Path, server: str, token: str | None) -> None:
    """Write NAME:VERSION as one bundle (files, definition, lineage) for `model import`."""
    name, version = _ref(ref)
    client = make_client(server, token)
    try:
        info = client.get_version(name, version)
        total = sum(f["size"] for f in info["files"])
        with transfer_bar(f"export {name}:{info['version']}", total) as advance:
            client.export_model(name, info["version"], out_file, progress=advance)
    except ClientError as exc:
        fail(exc)
        return
    click.echo(str(out_file))


@model.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="Import under this model name instead of the bundle's.")
@client_options
def import_(bundle: Path, name: str | None, server: str, token: str | None) -> None:
    """Recreate the version in BUNDLE (from `model export`) on this server."""
    client = make_client(server, token)
    try:
        with transfer_bar("import", bundle.stat().st_size) as advance:
            version = client.import_model(bundle, name=name, progress=advance)
    except ClientError as exc:
        fail(exc)
        return
    click.echo(f"imported {version['model']}:{version['version']}")


@model.command("delete")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@client_options
def delete(ref: str, yes: bool, server: str, token: str | None) -> None:
    """Delete NAME (the model and all its versions) or NAME:VERSION (one version)."""
    name, sep, version = ref.rpartition(":")
    if not sep:
        name, version = ref, ""
    what = f"{name}:{version}" if version else f"model {name} and all its versions"
    if not yes:
        click.confirm(f"delete {what}?", abort=True)
    client = make_client(server, token)
    try:
        if version:
            client.delete_version(name, version)
        else:
            client.delete_model(name)
    except ClientError as exc:
        fail(exc)
        return
    click.echo(f"deleted {what}")

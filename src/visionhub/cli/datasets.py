"""``visionhub dataset …``: client verbs over HTTP (import, export, list, create)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import Client, ClientError

T = TypeVar("T")
console = Console(stderr=True)


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int | None], None]]:
    """A ``progress(stage, done, total)`` callback drawing one Rich bar per stage."""
    columns = (
        TextColumn("{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


@contextmanager
def connect(server: str, token: str | None) -> Iterator[Client]:
    client = make_client(server, token)
    try:
        yield client
    finally:
        client.close()


def run(action: Callable[[], T]) -> T:
    try:
        return action()
    except ClientError as exc:
        fail(exc)
        raise  # unreachable: fail() exits


@click.group()
def dataset() -> None:
    """Datasets on a VisionHub server: import, export, list."""


@dataset.command("list")
@client_options
@click.option("--owner", default=None, help="Only datasets of this user.")
def list_datasets(server: str, token: str | None, owner: str | None) -> None:
    """Datasets you may read."""
    with connect(server, token) as client:
        params: dict[str, Any] = {"owner": owner} if owner else {}
        for item in run(lambda: list(client.list_datasets(**params))):
            click.echo(
                f"{item['id']:>6}  {item['owner']}/{item['name']}  {item['num_images']} images  "
                f"{item['visibility']}  {item['status']}"
            )


@dataset.command("create")
@client_options
@click.argument("name")
@click.option("--description", default="")
@click.option("--public", is_flag=True, help="Readable by every user.")
@click.option("--min-width", type=click.IntRange(min=0), default=0)
@click.option("--min-height", type=click.IntRange(min=0), default=0)
@click.option("--maintain-ratio", is_flag=True, help="Images keep min-width:min-height (1%).")
def create(
    server: str,
    token: str | None,
    name: str,
    description: str,
    public: bool,
    min_width: int,
    min_height: int,
    maintain_ratio: bool,
) -> None:
    """Create an empty dataset NAME."""
    with connect(server, token) as client:
        created = run(
            lambda: client.create_dataset(
                name,
                description=description,
                visibility="public" if public else "private",
                img_width=min_width,
                img_height=min_height,
                maintain_ratio=maintain_ratio,
            )
        )
        click.echo(f"created dataset {created['owner']}/{created['name']} (id {created['id']})")


@dataset.group("import")
def import_() -> None:
    """Import a dataset from files."""


def _summary(report: Any) -> None:
    images = report.images
    click.echo(
        f"dataset {report.dataset['owner']}/{report.dataset['name']}: "
        f"{images.uploaded} images uploaded, {images.attached} attached, "
        f"{images.present} already there, {len(images.rejected)} rejected; "
        f"{report.annotations} annotations added"
    )
    for rejected in images.rejected[:20]:
        click.echo(f"  rejected {rejected['file']}: {rejected['code']}: {rejected['message']}")


@import_.command("coco")
@client_options
@click.option("--name", required=True, help="Dataset name (created if need be).")
@click.option(
    "--annotations",
    "annotations_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="COCO JSON: instances, keypoints, captions, or a detection results list.",
)
@click.option(
    "--images",
    "images_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder the file_name of each image is relative to (default: the file's folder).",
)
@click.option("--label-set", default=None, help="Label set name (default gt, or pred for results).")
@click.option("--replace", is_flag=True, help="Clear the label set first and import everything.")
@click.option("--threads", type=click.IntRange(min=1, max=32), default=4, show_default=True)
def import_coco(
    server: str,
    token: str | None,
    name: str,
    annotations_file: Path,
    images_dir: Path | None,
    label_set: str | None,
    replace: bool,
    threads: int,
) -> None:
    """Import a COCO file and its images into dataset NAME."""
    with connect(server, token) as client, progress_bars() as progress:
        report = run(
            lambda: client.import_coco(
                name,
                annotations_file,
                images_dir,
                label_set=label_set,
                replace=replace,
                threads=threads,
                progress=progress,
            )
        )
    _summary(report)


@import_.command("folder")
@client_options
@click.option("--name", required=True, help="Dataset name (created if need be).")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--label-set", default="gt", show_default=True)
@click.option("--threads", type=click.IntRange(min=1, max=32), default=4, show_default=True)
def import_folder(
    server: str, token: str | None, name: str, directory: Path, label_set: str, threads: int
) -> None:
    """Import an ImageFolder DIRECTORY: one sub-folder per class, loose images unlabeled."""
    with connect(server, token) as client, progress_bars() as progress:
        report = run(
            lambda: client.import_folder(
                name, directory, label_set=label_set, threads=threads, progress=progress
            )
        )
    _summary(report)


@dataset.group("export")
def export() -> None:
    """Export a dataset to files."""


@export.command("coco")
@client_options
@click.argument("name")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--images-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also download the images here, under their file names.",
)
@click.option("--label-set", default=None, help="Default: the only label set, or the first GT.")
@click.option("--threads", type=click.IntRange(min=1, max=32), default=4, show_default=True)
def export_coco(
    server: str,
    token: str | None,
    name: str,
    out: Path,
    images_dir: Path | None,
    label_set: str | None,
    threads: int,
) -> None:
    """Write dataset NAME (or OWNER/NAME) as a COCO file."""
    with connect(server, token) as client, progress_bars() as progress:
        report = run(
            lambda: client.export_coco(
                name,
                out,
                images_dir=images_dir,
                label_set=label_set,
                threads=threads,
                progress=progress,
            )
        )
    chosen = report.label_set["name"] if report.label_set else "no label set"
    click.echo(f"wrote {out} ({chosen}); {report.downloaded} of {report.images} images downloaded")


@export.command("folder")
@client_options
@click.argument("name")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--label-set", default=None, help="Default: the only label set, or the first GT.")
@click.option("--threads", type=click.IntRange(min=1, max=32), default=4, show_default=True)
def export_folder(
    server: str, token: str | None, name: str, out: Path, label_set: str | None, threads: int
) -> None:
    """Write dataset NAME as an ImageFolder: one sub-folder per class."""
    with connect(server, token) as client, progress_bars() as progress:
        report = run(
            lambda: client.export_folder(
                name, out, label_set=label_set, threads=threads, progress=progress
            )
        )
    click.echo(f"wrote {report.images} images to {out} ({report.downloaded} downloaded)")

"""``visionhub gc``: delete blobs that nothing references any more (server-side)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator

import click

from visionhub.cli.django_setup import setup_django

# Every app that keeps blobs lists the sha256s it references in ``<app>.services``
# ``referenced_blobs()``; an app without that function (or without the app) is skipped.
PROVIDERS = (
    "visionhub.datasets.services.gc",
    "visionhub.registry.services",
    "visionhub.inference.services",
    "visionhub.benchmarks.services",
    "visionhub.labeling.services",
)


def providers() -> list[Callable[[], Iterable[str]]]:
    """The ``referenced_blobs`` functions of the installed apps."""
    found: list[Callable[[], Iterable[str]]] = []
    for name in PROVIDERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that app (or its services module) does not exist
            raise
        function = getattr(module, "referenced_blobs", None)
        if function is not None:
            found.append(function)
    return found


def referenced() -> Iterator[str]:
    for function in providers():
        yield from function()


@click.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option(
    "--grace-seconds",
    type=click.IntRange(min=0),
    default=3600,
    show_default=True,
    help="Keep blobs written this recently (uploads in flight).",
)
def gc(dry_run: bool, grace_seconds: int) -> None:
    """Delete every blob no image, annotation, model file or other row references."""
    setup_django()
    from visionhub.storage.gc import collect_garbage

    doomed = collect_garbage(referenced, dry_run=dry_run, grace_seconds=grace_seconds)
    verb = "would delete" if dry_run else "deleted"
    for sha256 in doomed:
        click.echo(sha256)
    click.echo(f"{verb} {len(doomed)} unreferenced blobs", err=True)

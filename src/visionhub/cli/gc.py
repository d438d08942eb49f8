"""``visionhub gc``: delete blobs that nothing references any more (server-side)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import click

from visionhub.cli.django_setup import setup_django

Provider = Callable[[], Iterable[str]]


def providers() -> dict[str, Provider]:
    """Every app that keeps blobs → the function listing the sha256s its rows reference.

    Imported by name, not discovered: a provider that is renamed or gone is an ImportError
    here, never a silently skipped app whose blobs ``gc`` would then delete. An app that
    starts keeping blobs adds itself (``tests/cli/test_gc.py`` checks every model field that
    holds a sha256 belongs to an app listed here).
    """
    from visionhub.datasets.services.gc import referenced_blobs as datasets
    from visionhub.inference.services import referenced_blobs as inference
    from visionhub.registry.services import referenced_blobs as registry

    return {"datasets": datasets, "inference": inference, "registry": registry}


def referenced() -> Iterator[str]:
    for function in providers().values():
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

"""``visionhub demo [--serve]``: the whole product end to end on the embedded default."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--serve", is_flag=True, help="Keep the server and workers up to explore.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="VISIONHUB_HOME for the demo (default: a fresh temporary folder).",
)
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True)
@click.option("--port", type=int, default=None, help="Server port (default: a free one).")
def demo(serve: bool, home: Path | None, workers: int, port: int | None) -> None:
    """Import handwritten digits, train, register, deploy, classify with workers, report."""
    from visionhub.demo.run import run

    raise SystemExit(run(home, serve=serve, workers=workers, port=port))

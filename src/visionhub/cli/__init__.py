"""The ``visionhub`` command. Server-side verbs set Django up; client verbs speak HTTP only."""

from __future__ import annotations

import click

from visionhub import __version__
from visionhub.cli.serve import migrate, serve
from visionhub.cli.tokens import token
from visionhub.cli.users import user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="visionhub")
def main() -> None:
    """VisionHub: datasets, models, distributed classification and benchmarks for CV teams."""


main.add_command(serve)
main.add_command(migrate)
main.add_command(user)
main.add_command(token)

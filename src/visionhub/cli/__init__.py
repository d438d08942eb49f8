"""The ``visionhub`` command. Server-side verbs set Django up; client verbs speak HTTP only."""

from __future__ import annotations

import click

from visionhub import __version__
from visionhub.cli.benchmarks import benchmark, notifications
from visionhub.cli.classify import classify
from visionhub.cli.datasets import dataset
from visionhub.cli.demo import demo
from visionhub.cli.deploy import deploy
from visionhub.cli.evaluate import evaluate
from visionhub.cli.gc import gc
from visionhub.cli.label import label
from visionhub.cli.models import model
from visionhub.cli.predict import predict
from visionhub.cli.serve import migrate, serve
from visionhub.cli.tasks import tasks
from visionhub.cli.tokens import token
from visionhub.cli.trainings import training
from visionhub.cli.users import user
from visionhub.cli.vault import vault
from visionhub.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="visionhub")
def main() -> None:
    """VisionHub: datasets, models, distributed classification and benchmarks for CV teams."""


main.add_command(serve)
main.add_command(migrate)
main.add_command(user)
main.add_command(dataset)
main.add_command(gc)
main.add_command(token)
main.add_command(vault)
main.add_command(worker)
main.add_command(classify)
main.add_command(predict)
main.add_command(model)
main.add_command(deploy)
main.add_command(demo)
main.add_command(training)
main.add_command(benchmark)
main.add_command(notifications)
main.add_command(tasks)
main.add_command(label)
main.add_command(evaluate)

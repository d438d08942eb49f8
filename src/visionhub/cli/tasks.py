"""``visionhub tasks worker``: run background-task workers (evaluations, exports, …).

A server-side verb: it needs the database (``VISIONHUB_DATABASE_URL``), like ``serve``. Run
as many as needed, on any machines; ``visionhub serve`` runs ``VISIONHUB_SERVE_TASK_WORKERS``
of them itself (docs/tasks.md).
"""

from __future__ import annotations

import click

from visionhub.cli.django_setup import setup_django


@click.group()
def tasks() -> None:
    """Background tasks."""


@tasks.command("worker")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    default=("default",),
    show_default=True,
    help="Queue to take tasks from (repeat for several; '*' for all).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between polls of an empty queue.",
)
@click.option("--batch", is_flag=True, help="Run the queued tasks, then exit.")
@click.option(
    "--max-tasks", type=click.IntRange(min=1), default=None, help="Exit after this many tasks."
)
@click.option("--worker-id", default=None, help="A unique name for this worker (default: random).")
@click.option(
    "--parent-pid",
    type=int,
    default=None,
    hidden=True,
    help="Exit when this process (the server that started us) is gone.",
)
def worker(
    queues: tuple[str, ...],
    interval: float,
    batch: bool,
    max_tasks: int | None,
    worker_id: str | None,
    parent_pid: int | None,
) -> None:
    """Run background tasks until interrupted (SIGTERM finishes the task in hand first)."""
    setup_django()
    import logging

    from visionhub.tasks.worker import run_worker

    logging.getLogger("django_tasks_db").setLevel(logging.INFO)
    run_worker(
        queue_names=list(queues),
        interval=interval,
        batch=batch,
        max_tasks=max_tasks,
        worker_id=worker_id,
        parent_pid=parent_pid,
    )

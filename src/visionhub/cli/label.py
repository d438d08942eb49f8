"""``visionhub label project create|init|show|qa|export`` and ``visionhub label task
list|workers|qa``: client verbs over HTTP (``Client.labeling``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import ClientError
from visionhub.client.labeling import RUNNING, LabelingClient

T = TypeVar("T")
console = Console(highlight=False)
STATUSES = ("waiting", "working", "reviewing", "rejected", "accepted")


def _labeling(server: str, token: str | None) -> LabelingClient:
    return make_client(server, token).labeling


def _call(action: Callable[[], T]) -> T:
    try:
        return action()
    except ClientError as exc:
        fail(exc)
        raise  # fail() always raises; this keeps the type checker sure of it


def _wait_with_bar(client: LabelingClient, project_id: int, what: str, timeout: float) -> Any:
    """Poll the project's progress into a bar until its background task ends."""
    deadline = time.monotonic() + timeout
    with Progress(TextColumn(f"  {what}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  console=console, transient=True) as progress:  # fmt: skip
        bar = progress.add_task(what, total=1.0)
        while True:
            project = client.project(project_id)
            progress.update(bar, completed=project["progress"])
            if project["status"] not in RUNNING:
                break
            if time.monotonic() > deadline:
                raise click.ClickException(f"project {project_id} is still {project['status']}")
            time.sleep(0.2)
    if project["error"]:
        raise click.ClickException(project["error"])
    return project


@click.group("label")
def label() -> None:
    """Labeling projects: create and initialise them, staff their tasks, QA and export."""


@label.group("project")
def project() -> None:
    """Labeling projects."""


@project.command("create")
@click.argument("name")
@click.option("--dataset", "datasets", multiple=True, required=True, help="Name or id (repeat).")
@click.option("--manager", "managers", multiple=True, required=True, help="Username (repeat).")
@click.option("--category", "categories", multiple=True, required=True, help="Name (repeat).")
@click.option("--description", default="")
@click.option("--pre-label", default="", help="A label set whose annotations are the defaults.")
@client_options
def create(
    name: str,
    datasets: tuple[str, ...],
    managers: tuple[str, ...],
    categories: tuple[str, ...],
    description: str,
    pre_label: str,
    server: str,
    token: str | None,
) -> None:
    """Create the project NAME; prints its id alone on the last line."""
    client = _labeling(server, token)
    made = _call(
        lambda: client.create_project(
            name,
            datasets=datasets,
            managers=managers,
            categories=categories,
            description=description,
            pre_label=pre_label,
        )
    )
    click.echo(f"created label project {made['name']!r} ({made['status']})")
    click.echo(made["id"])


@project.command("init")
@click.argument("project_id", type=int)
@click.option("--batch-size", type=click.IntRange(0), required=True, help="0: a task per dataset.")
@click.option("--label-times", type=click.IntRange(1), default=1, show_default=True)
@click.option("--review-times", type=click.IntRange(0), default=1, show_default=True)
@click.option("--timeout", type=click.FloatRange(1), default=600, show_default=True)
@client_options
def init(
    project_id: int,
    batch_size: int,
    label_times: int,
    review_times: int,
    timeout: float,
    server: str,
    token: str | None,
) -> None:
    """Split PROJECT_ID into tasks (once) and wait for it, with a progress bar."""
    client = _labeling(server, token)
    _call(
        lambda: client.init_project(
            project_id,
            batch_size=batch_size,
            label_times=label_times,
            review_times=review_times,
            wait=False,
        )
    )
    done = _call(lambda: _wait_with_bar(client, project_id, "splitting into tasks", timeout))
    n = done["task_num_total"]
    click.echo(f"project {project_id}: {n} task{'' if n == 1 else 's'}, {done['status']}")


@project.command("show")
@click.argument("project_id", type=int)
@client_options
def show(project_id: int, server: str, token: str | None) -> None:
    """The project, its tasks per status and (for leaders) everyone's progress."""
    client = _labeling(server, token)
    found = _call(lambda: client.project(project_id))
    click.echo(f"{found['id']}  {found['name']}  [{found['status']}]  owner {found['owner']}")
    click.echo(
        f"managers: {', '.join(found['managers'])}  categories: {', '.join(found['categories'])}"
    )
    if found["batch_size"] is not None:
        click.echo(
            f"batch size {found['batch_size']}, label times {found['label_times']}, "
            f"review times {found['review_times']}"
        )
    counts = "  ".join(f"{s} {found[f'task_num_{s}']}" for s in STATUSES)
    click.echo(f"tasks: {found['task_num_total']}  ({counts})")
    if found["error"]:
        click.echo(f"error: {found['error']}")
    try:
        progress = client.progress(project_id)
    except ClientError as exc:
        if exc.status != 403:
            fail(exc)
        return
    table = Table("user", "role", "tasks", "to label", "to review", "rejected", "accepted")
    for p in progress["people"]:
        table.add_row(p["username"], p["role"], str(p["tasks"]), str(p["label_num_waiting"]),
                      str(p["review_num_waiting"]), str(p["review_num_rejected"]),
                      str(p["review_num_accepted"]))  # fmt: skip
    console.print(table)


@project.command("qa")
@click.argument("project_id", type=int)
@click.argument("action", type=click.Choice(["accept", "reject"]))
@client_options
def qa_project(project_id: int, action: str, server: str, token: str | None) -> None:
    """Accept or reject a reviewing project (its owner)."""
    done = _call(lambda: _labeling(server, token).qa_project(project_id, action))
    click.echo(f"project {project_id}: {done['status']}")


@project.command("export")
@click.argument("project_id", type=int)
@click.option("--label-set", required=True, help="Name of the label set written to each dataset.")
@click.option(
    "--mode", type=click.Choice(["merge", "per_labeler"]), default="merge", show_default=True
)
@click.option("--timeout", type=click.FloatRange(1), default=600, show_default=True)
@client_options
def export(
    project_id: int, label_set: str, mode: str, timeout: float, server: str, token: str | None
) -> None:
    """Write an accepted project's labels back to its datasets, and print the report."""
    client = _labeling(server, token)
    _call(lambda: client.export_project(project_id, label_set, mode=mode, wait=False))
    done = _call(lambda: _wait_with_bar(client, project_id, "exporting", timeout))
    report = done["export_report"]
    for part in report["datasets"]:
        click.echo(
            f"dataset {part['dataset']}: {', '.join(part['label_sets']) or '-'}  "
            f"{part['annotations']} annotations on {part['images']} images, "
            f"{part['skipped_images']} skipped"
        )
    for name, score in report.get("labelers", {}).items():
        click.echo(
            f"labeler {name}: class agreement {score['class_agreement']}, "
            f"matched {score['matched']}, mean IoU {score['mean_iou']}"
        )
    click.echo(f"exported: {report['annotations']} annotations")


@label.group("task")
def task() -> None:
    """The tasks of a project."""


@task.command("list")
@click.argument("project_id", type=int)
@click.option("--status", type=click.Choice(STATUSES))
@client_options
def list_tasks(project_id: int, status: str | None, server: str, token: str | None) -> None:
    """One line per task you may see: ``ID  IDX  DATASET  IMAGES  STATUS``."""
    client = _labeling(server, token)
    for item in _call(lambda: list(client.tasks(project_id, status=status))):
        click.echo(
            f"{item['id']}\t{item['idx']}\t{item['dataset_id']}\t{item['num_total']}\t{item['status']}"
        )


@task.command("workers")
@click.argument("task_id", type=int)
@click.option("--label-leader", help="Make this user the label leader (managers).")
@click.option("--review-leader", help="Make this user the review leader (managers).")
@click.option("--labeler", "labelers", multiple=True, help="Set all the labelers (repeat).")
@click.option("--reviewer", "reviewers", multiple=True, help="Set all the reviewers (repeat).")
@click.option(
    "--replace", nargs=3, metavar="ROLE OLD NEW", help="Hand OLD's labeler/reviewer role to NEW."
)
@client_options
def workers(
    task_id: int,
    label_leader: str | None,
    review_leader: str | None,
    labelers: tuple[str, ...],
    reviewers: tuple[str, ...],
    replace: tuple[str, str, str] | None,
    server: str,
    token: str | None,
) -> None:
    """Set the task's leaders and workers (in that order), then list its roles."""
    client = _labeling(server, token)
    try:
        for role, user in (("label_leader", label_leader), ("review_leader", review_leader)):
            if user:
                client.set_leader(task_id, role, user)
        for role, users in (("labeler", labelers), ("reviewer", reviewers)):
            if users:
                client.set_workers(task_id, role, users)
        if replace:
            client.replace_worker(task_id, *replace)
        roles = client.task_roles(task_id)
    except ClientError as exc:
        fail(exc)
    for r in roles:
        if r["is_active"]:
            click.echo(
                f"{r['username']}\t{r['role']}\tto label {r['label_num_waiting']}\t"
                f"to review {r['review_num_waiting']}\trejected {r['review_num_rejected']}\t"
                f"accepted {r['review_num_accepted']}"
            )


@task.command("qa")
@click.argument("task_id", type=int)
@click.argument("action", type=click.Choice(["accept", "reject", "force_accept", "restart"]))
@client_options
def qa_task(task_id: int, action: str, server: str, token: str | None) -> None:
    """A manager's QA of a reviewing task (or ``restart`` of a rejected one, its label leader)."""
    client = _labeling(server, token)
    if action == "restart":
        done = _call(lambda: client.restart_task(task_id))
    else:
        done = _call(lambda: client.qa_task(task_id, action))
    click.echo(f"task {task_id}: {done['status']}")

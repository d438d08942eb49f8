"""``visionhub benchmark …`` (client verbs over HTTP) and ``visionhub notifications send``
(server side: mails the outbox)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import Client, ClientError


@click.group()
def benchmark() -> None:
    """The benchmark-results database: benchmarks, sites, flavors, tags, results."""


def _load_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: not a readable JSON file ({exc})") from None


def _value(document: Any, path: str) -> Any:
    """The value at a dotted ``path`` of ``document`` (an all-digit part indexes a list)."""
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _run(client: Client, action: Any) -> Any:
    try:
        return action(client)
    except ClientError as exc:
        fail(exc)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@benchmark.command("create")
@click.argument("name", metavar="IMAGE:TAG")
@click.option("--schema", "schema_file", required=True, help="JSON Schema file of the results.")
@click.option("--url", default="", help="Where to read about the benchmark.")
@click.option("--description", default="")
@client_options
def create(
    name: str, schema_file: str, url: str, description: str, server: str, token: str | None
) -> None:
    """Register the benchmark IMAGE:TAG (non-admins' wait for an admin's approval)."""
    image, sep, tag = name.rpartition(":")
    if not sep or not image:
        raise click.UsageError("name the benchmark IMAGE:TAG")
    schema = _load_json(schema_file)
    made = _run(
        make_client(server, token),
        lambda c: c.create_benchmark(image, tag, schema, url=url, description=description),
    )
    click.echo(f"{made['name']}\t{made['status']}\t{made['id']}")


@benchmark.command("list")
@click.option("--status", type=click.Choice(["on_review", "approved", "rejected"]))
@client_options
def list_(status: str | None, server: str, token: str | None) -> None:
    """List the benchmarks you can see."""
    items = _run(make_client(server, token), lambda c: list(c.list_benchmarks(status=status)))
    for item in items:
        click.echo(f"{item['name']}\t{item['status']}\t{item['id']}\t{item['description']}")


@benchmark.command("upload")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--benchmark", "benchmark_name", required=True, metavar="IMAGE:TAG")
@click.option("--flavor", "flavor_name", required=True, metavar="SITE/FLAVOR")
@click.option("--tag", "tags", multiple=True, help="Tag name (repeatable; created if missing).")
@click.option(
    "--execution-datetime",
    help="ISO 8601 start of the run (default: now). Applies to every FILE.",
)
@client_options
def upload(
    files: tuple[str, ...],
    benchmark_name: str,
    flavor_name: str,
    tags: tuple[str, ...],
    execution_datetime: str | None,
    server: str,
    token: str | None,
) -> None:
    """Upload result FILEs (JSON) of a benchmark run on a flavor; prints each new result id."""
    if execution_datetime is not None:
        try:
            datetime.fromisoformat(execution_datetime)
        except ValueError:
            raise click.UsageError("--execution-datetime must be ISO 8601") from None
    client = make_client(server, token)
    documents = [_load_json(path) for path in files]
    found = _run(
        client,
        lambda c: (
            c.find_benchmark(benchmark_name),
            c.find_flavor(flavor_name),
            c.ensure_tags(tags),
        ),
    )
    bench, flavor, tag_ids = found
    when = execution_datetime or datetime.now(UTC).isoformat()
    with Progress(transient=True, disable=len(files) < 5) as progress:
        task = progress.add_task("uploading", total=len(files))
        for path, document in zip(files, documents, strict=True):
            made = _run(
                client,
                lambda c, d=document: c.upload_result(
                    d,
                    benchmark_id=bench["id"],
                    flavor_id=flavor["id"],
                    tags_ids=tag_ids,
                    execution_datetime=when,
                ),
            )
            progress.advance(task)
            click.echo(f"{path}\t{made['id']}")


@benchmark.command("results")
@click.option("--benchmark", "benchmark_name", metavar="IMAGE:TAG")
@click.option("--site", "site_name")
@click.option("--flavor", "flavor_name", metavar="SITE/FLAVOR")
@click.option("--tag", "tags", multiple=True, help="Results with every one of these tags.")
@click.option(
    "--filter", "filters", multiple=True, help='A json condition, e.g. "machine.cpu.count >= 4".'
)
@click.option(
    "--contains",
    help='A JSON object the json must contain, e.g. \'{"machine": {"cpu": {"count": 8}}}\'.',
)
@click.option("--sort", "sort_by", help="A json path to sort by; '-path' for descending.")
@click.option("--column", "columns", multiple=True, help="A json path to show (repeatable).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.option("--limit", type=int, default=None, help="At most this many results.")
@client_options
def results(
    benchmark_name: str | None,
    site_name: str | None,
    flavor_name: str | None,
    tags: tuple[str, ...],
    filters: tuple[str, ...],
    contains: str | None,
    sort_by: str | None,
    columns: tuple[str, ...],
    as_csv: bool,
    limit: int | None,
    server: str,
    token: str | None,
) -> None:
    """Query results; a table, or CSV with one column per --column json path."""
    client = make_client(server, token)

    def query(c: Client) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "benchmark_id": c.find_benchmark(benchmark_name)["id"] if benchmark_name else None,
            "site_id": c.find_site(site_name)["id"] if site_name else None,
            "flavor_id": c.find_flavor(flavor_name)["id"] if flavor_name else None,
            "tags_all": list(tags),
            "filters": list(filters),
            "contains": contains,
            "sort_by": sort_by,
        }
        out = []
        for item in c.list_results(**params):
            out.append(item)
            if limit is not None and len(out) >= limit:
                break
        return out

    items = _run(client, query)
    header = ["id", "benchmark", "site", "flavor", "execution_datetime", "tags", *columns]
    rows = [
        [
            item["id"],
            item["benchmark_name"],
            item["site_name"],
            item["flavor_name"],
            item["execution_datetime"],
            " ".join(item["tags_names"]),
            *(_cell(_value(item["json"], column)) for column in columns),
        ]
        for item in items
    ]
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return
    table = Table(*header)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    Console().print(table)


@benchmark.command("submits")
@click.option("--status", type=click.Choice(["on_review", "approved", "rejected"]))
@client_options
def submits(status: str | None, server: str, token: str | None) -> None:
    """List review requests (all for admins, yours for anyone else)."""
    items = _run(make_client(server, token), lambda c: list(c.list_submits(status=status)))
    for item in items:
        click.echo(
            f"{item['id']}\t{item['resource_type']}\t{item['resource_id']}\t{item['status']}"
        )


@benchmark.command("approve")
@click.argument("submit_id")
@click.option("--message", default="")
@client_options
def approve(submit_id: str, message: str, server: str, token: str | None) -> None:
    """Approve a submit (admins; upholds a claim)."""
    done = _run(make_client(server, token), lambda c: c.approve_submit(submit_id, message))
    click.echo(f"{done['id']}\t{done['status']}")


@benchmark.command("reject")
@click.argument("submit_id")
@click.option("--message", default="")
@client_options
def reject(submit_id: str, message: str, server: str, token: str | None) -> None:
    """Reject a submit (admins; dismisses a claim)."""
    done = _run(make_client(server, token), lambda c: c.reject_submit(submit_id, message))
    click.echo(f"{done['id']}\t{done['status']}")


@benchmark.group("site")
def site() -> None:
    """Sites, where benchmarks run."""


@site.command("create")
@click.argument("name")
@click.option("--address", required=True)
@click.option("--description", default="")
@client_options
def site_create(name: str, address: str, description: str, server: str, token: str | None) -> None:
    """Create the site NAME."""
    made = _run(
        make_client(server, token),
        lambda c: c.create_site(name, address, description=description),
    )
    click.echo(f"{made['name']}\t{made['status']}\t{made['id']}")


@benchmark.group("flavor")
def flavor() -> None:
    """Flavors (virtual machine templates) of sites."""


@flavor.command("create")
@click.argument("name", metavar="SITE/FLAVOR")
@click.option("--description", default="")
@client_options
def flavor_create(name: str, description: str, server: str, token: str | None) -> None:
    """Create the flavor SITE/FLAVOR."""
    site_name, sep, flavor_name = name.partition("/")
    if not sep:
        raise click.UsageError("name the flavor SITE/FLAVOR")
    made = _run(
        make_client(server, token),
        lambda c: c.create_flavor(
            c.find_site(site_name)["id"], flavor_name, description=description
        ),
    )
    click.echo(f"{site_name}/{made['name']}\t{made['status']}\t{made['id']}")


@benchmark.group("tag")
def tag() -> None:
    """Tags on results."""


@tag.command("create")
@click.argument("name")
@click.option("--description", default="")
@client_options
def tag_create(name: str, description: str, server: str, token: str | None) -> None:
    """Create the tag NAME."""
    made = _run(make_client(server, token), lambda c: c.create_tag(name, description=description))
    click.echo(f"{made['name']}\t{made['id']}")


@click.group()
def notifications() -> None:
    """The e-mail outbox of the benchmark database (runs against the server's database)."""


@notifications.command("send")
@click.option("--limit", type=int, default=None, help="Send at most this many.")
def send(limit: int | None) -> None:
    """Mail pending notifications through the configured e-mail backend."""
    from visionhub.cli.django_setup import setup_django

    setup_django()
    from visionhub.benchmarks.notifications import send_pending_notifications

    report = send_pending_notifications(limit=limit)
    click.echo(f"sent {report.sent}, failed {report.failed}, skipped {report.skipped}")

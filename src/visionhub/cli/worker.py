"""``visionhub worker``: run a classification worker; ``visionhub worker bench``: measure one.

Client verbs: they speak HTTP only (no Django). The heavy imports (onnxruntime, numpy, Pillow)
happen inside the commands so that other ``visionhub`` commands start fast.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

import click
from click.core import ParameterSource

from visionhub.cli.common import client_options, fail, make_client
from visionhub.client import ClientError
from visionhub.client.retry import NO_RETRY

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "visionhub-worker"
MB = 1024 * 1024


def _exit_at_once(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from PIL import Image

    # The worker applies its own pixel limit (``DecodeError``); Pillow's warning is noise.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@click.group("worker", invoke_without_command=True)
@client_options
@click.option(
    "--deployment",
    "deployments",
    multiple=True,
    help="Only work for this deployment (repeat for several; default: any).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Threads downloading and decoding images.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 1000),
    default=16,
    show_default=True,
    help="Requests claimed at once (and run through the model as one batch).",
)
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Exit (0) after this many requests are done.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CACHE_DIR,
    show_default=True,
    help="Where model files and images are cached (may be shared by workers).",
)
@click.option(
    "--image-cache-mb",
    type=click.IntRange(min=0),
    default=512,
    show_default=True,
    help=(
        "Bound of the image cache: an image is kept from its second download on, and the least "
        "recently used images are removed."
    ),
)
@click.option("--name", default=None, help="This worker's name in statistics (default host-pid).")
@click.option("--site", default=None, help="Where the worker runs (statistics label).")
@click.option("--flavor", default=None, help="The machine type (statistics label).")
@click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="onnxruntime intra-op threads (0: one per core).",
)
@click.option(
    "--claim-wait",
    type=click.FloatRange(0, 60),
    default=5.0,
    show_default=True,
    help="Seconds one claim long-polls for work.",
)
@click.pass_context
def worker(
    ctx: click.Context,
    server: str,
    token: str | None,
    deployments: tuple[str, ...],
    concurrency: int,
    batch: int,
    max_jobs: int | None,
    cache_dir: Path,
    image_cache_mb: int,
    name: str | None,
    site: str | None,
    flavor: str | None,
    threads: int,
    claim_wait: float,
) -> None:
    """Classify images for the server: claim requests, run their models, send the results.

    Runs until interrupted, or until --max-jobs requests are done. SIGTERM (or Ctrl-C) finishes
    the jobs held and exits 0; a second one gives them back at once.
    """
    ctx.obj = {"server": server, "token": token, "cache_dir": cache_dir}
    if ctx.invoked_subcommand is not None:
        return
    # Until the worker installs its own handlers, a signal means "exit now": nothing is held yet.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_at_once)
    _setup_logging()
    from visionhub.worker.cache import WorkerCache
    from visionhub.worker.loop import Worker, WorkerOptions

    # The worker retries every call itself (until it stops), so its client must not retry too.
    client = make_client(server, token, retry=NO_RETRY)
    options = WorkerOptions(
        deployments=deployments,
        concurrency=concurrency,
        batch=batch,
        max_jobs=max_jobs,
        claim_wait=claim_wait,
        site=site,
        flavor=flavor,
        intra_op_threads=threads,
        name=name,
    )
    cache = WorkerCache(cache_dir, max_image_bytes=image_cache_mb * MB)
    code = Worker(client, cache, options).run()
    # Done: a late signal must not turn a clean exit into death by signal during shutdown.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    client.close()
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if busy:
        # Downloads stuck on a dead connection must not keep a stopped worker alive.
        logging.getLogger("visionhub.worker").info("exiting with %d threads busy", len(busy))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    ctx.exit(code)


@worker.command("bench")
@client_options
@click.option("--deployment", required=True, help="The deployment whose model is measured.")
@click.option("--site", default=None, help="Site of the uploaded result.")
@click.option("--flavor", default=None, help="Flavor of the uploaded result.")
@click.option("--images", "count", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--batch", type=click.IntRange(1, 1000), default=16, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True)
@click.option("--threads", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--tag", "tags", multiple=True, help="Tag of the uploaded result (repeatable).")
@click.option("--no-upload", is_flag=True, help="Print the result instead of uploading it.")
@click.pass_context
def bench(
    ctx: click.Context,
    server: str,
    token: str | None,
    deployment: str,
    site: str | None,
    flavor: str | None,
    count: int,
    batch: int,
    concurrency: int,
    threads: int,
    tags: tuple[str, ...],
    no_upload: bool,
) -> None:
    """Measure this machine on DEPLOYMENT's model: images/s and latency, through the worker's
    own pipeline on generated 1024x768 JPEGs; upload the result to the benchmarks database."""
    parent = ctx.obj or {}
    if ctx.get_parameter_source("server") == ParameterSource.DEFAULT and parent.get("server"):
        server = parent["server"]
    token = token or parent.get("token")
    from visionhub.worker import bench as worker_bench
    from visionhub.worker.cache import WorkerCache

    client = make_client(server, token)
    try:
        cache = WorkerCache(parent.get("cache_dir") or DEFAULT_CACHE_DIR)
        model = worker_bench.resolve_deployment(client, deployment, cache)
        images = worker_bench.make_images(count)
        result = worker_bench.run_bench(
            model, images, batch=batch, concurrency=concurrency, intra_op_threads=threads
        )
        result["deployment"] = deployment
        worker_bench.report(result)
        upload = getattr(client, "upload_inference_result", None)
        if upload is None or no_upload or not (site and flavor):
            click.echo(json.dumps(result, indent=2))
            if upload is not None and not no_upload:
                click.echo("not uploaded: pass --site and --flavor to upload", err=True)
            return
        uploaded = upload(result, site, flavor, list(tags))
        click.echo(f"uploaded as benchmark result {uploaded.get('id', '?')}")
    except ClientError as exc:
        fail(exc)
    finally:
        client.close()

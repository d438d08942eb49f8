"""The demo: a real server, real workers and a real data set, driven through the public API.

Everything the demo does, a user can do with the same commands and client calls: it starts
``visionhub serve`` on a free port, creates users with the CLI, imports the digits as image
folders, trains while reporting progress to a tracked Training, pushes the ONNX model, deploys
it, starts ``visionhub worker`` processes and classifies the test split through the queue.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from visionhub import __version__
from visionhub.client import Client, ClientError
from visionhub.demo import digits, labeling

ADMIN = "demo-admin"
WORKER = "demo-worker"
LABELER = "demo-labeler"
REVIEWER = "demo-reviewer"
ADMIN_PASSWORD = "visionhub-demo"  # noqa: S105  (printed to the user of a local demo)
MODEL = "digits-mlp"
DEPLOYMENT = "digits"

console = Console(highlight=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    """The processes of the demo and how to reach them."""

    home: Path
    env: dict[str, str]
    url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603  (our own entry point, fixed arguments)
            [sys.executable, "-m", "visionhub", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )

    def spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with (self.home / log).open("ab") as out:
            process = subprocess.Popen(  # noqa: S603  (our own entry point)
                [sys.executable, "-m", "visionhub", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        # workers first, so they release their leases to a live server
        for process in reversed(self.processes):
            self.stop(process)


def _wait_healthy(stack: Stack, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited; see {stack.home / 'server.log'}")
        with suppress(httpx.HTTPError):
            if httpx.get(f"{stack.url}/api/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the server did not become healthy in time")


def _token(stack: Stack, username: str, *, staff: bool = False, worker: bool = False) -> str:
    flags = [*(["--staff"] if staff else []), *(["--worker"] if worker else [])]
    created = stack.cli(
        "user", "create", username, *flags, "--password-stdin", input=ADMIN_PASSWORD
    )
    if created.returncode != 0 and "already exists" not in created.stderr:
        raise RuntimeError(created.stderr)
    issued = stack.cli("token", "create", username, "--name", "demo")
    if issued.returncode != 0:
        raise RuntimeError(issued.stderr)
    return issued.stdout.strip().splitlines()[-1]


@contextmanager
def _bar(description: str, total: int | None) -> Iterator[Any]:
    with Progress(
        TextColumn("  {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)

        def advance(done: int, total_now: int | None = None) -> None:
            progress.update(task, completed=done, total=total_now or total)

        yield advance


def _step(text: str) -> None:
    console.print(f"[bold cyan]▸[/] {text}")


def run(
    home: Path | None = None, *, serve: bool = False, workers: int = 2, port: int | None = None
) -> int:
    """Run the demo; return the exit status."""
    home = (home or Path(tempfile.mkdtemp(prefix="visionhub-demo-"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VISIONHUB_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(VISIONHUB_HOME=str(home), PYTHONUNBUFFERED="1")
    stack = Stack(home=home, env=env, url=f"http://127.0.0.1:{port or _free_port()}")
    console.print(f"[bold]VisionHub {__version__} demo[/] — data in {home}")
    try:
        return _run(stack, serve=serve, workers=workers)
    finally:
        stack.stop_all()


def _run(stack: Stack, *, serve: bool, workers: int) -> int:
    _step(f"starting the server at {stack.url} (SQLite and blobs in {stack.home})")
    port = stack.url.rsplit(":", 1)[1]
    server = stack.spawn("serve", "--port", port, log="server.log")
    _wait_healthy(stack, server)
    admin_token = _token(stack, ADMIN, staff=True)
    worker_token = _token(stack, WORKER, worker=True)
    _step(f"users {ADMIN} (staff) and {WORKER} (worker) have API tokens")
    client = Client(stack.url, admin_token)

    _step("writing scikit-learn's handwritten digits as image folders (train / test)")
    train_split, test_split = digits.write_image_folders(stack.home / "demo-data")

    imported: dict[str, Any] = {}
    for split, name in ((train_split, "digits-train"), (test_split, "digits-test")):
        with _bar(f"importing {name}", len(split.files)) as advance:

            def progress(stage: str, done: int, total: int | None, advance: Any = advance) -> None:
                if stage == "uploading":
                    advance(done, total)

            imported[name] = client.import_folder(name, split.folder, progress=progress)
            advance(len(split.files))
    test_report = imported["digits-test"]
    test_truth = {
        int(test_report.images.ids[key]): int(Path(str(key)).parts[0])
        for key in test_report.images.ids
    }

    _step("training a small neural network, reported to a tracked Training")
    training = client.create_training(name="digits-mlp-training")
    client.update_training(training["id"], state="RUNNING")
    epochs = 30
    with _bar("training", epochs) as advance:

        def on_epoch(epoch: int, loss: float, val_accuracy: float) -> None:
            client.report_progress(
                training["id"],
                epoch / epochs,
                loss=round(loss, 5),
                val_accuracy=round(val_accuracy, 4),
            )
            advance(epoch)

        model, metrics = digits.train(train_split, epochs=epochs, on_epoch=on_epoch)
    client.update_training(training["id"], state="FINISHED", details=metrics)
    onnx_path = stack.home / "model.onnx"
    onnx_path.write_bytes(digits.to_onnx(model))

    _step("registering the ONNX model with its lineage, and deploying it")
    with suppress(ClientError):
        client.create_model(
            MODEL,
            input=digits.INPUT_SPEC,
            classes=digits.CLASSES,
            files=[
                {
                    "name": "model.onnx",
                    "description": "MLP exported by skl2onnx",
                    "required": True,
                    "max_mb": 50,
                }
            ],
            description="A 64-unit MLP on 8x8 handwritten digits",
        )
    version = client.push_model(
        MODEL, {"model.onnx": onnx_path}, dataset="digits-train", training=int(training["id"])
    )
    client.deploy(DEPLOYMENT, MODEL, version["version"])
    lineage = client.lineage(MODEL, version["version"])

    _step(f"starting {workers} worker processes")
    for n in range(workers):
        stack.spawn(
            "worker",
            "--server",
            stack.url,
            "--token",
            worker_token,
            "--deployment",
            DEPLOYMENT,
            "--name",
            f"demo-worker-{n + 1}",
            "--batch",
            "64",
            log=f"worker-{n + 1}.log",
        )

    image_ids = sorted(test_truth)
    started = time.monotonic()
    request_ids: list[int] = []
    for chunk in range(0, len(image_ids), 1000):
        request_ids.extend(
            client.classify_dataset_images(DEPLOYMENT, image_ids[chunk : chunk + 1000])
        )
    with _bar("classifying the test split", len(request_ids)) as advance:
        while True:
            stats = client.get(f"/deployments/{DEPLOYMENT}/stats")
            done = sum(stats["counts"].get(s, 0) for s in ("completed", "failed", "cancelled"))
            advance(done)
            if done >= len(request_ids):
                break
            time.sleep(0.2)
    elapsed = time.monotonic() - started

    results = {
        int(item["image_id"]): item
        for item in client.iterate("/classifications", {"deployment": DEPLOYMENT})
        if item["image_id"] is not None
    }
    saved = client.post(
        "/classifications/save-label-set",
        json={"deployment": DEPLOYMENT, "dataset": "digits-test", "label_set_name": "pred"},
    )

    _step("evaluating the predictions against the ground truth, on the server")
    test_id = int(client.dataset("digits-test")["id"])
    started_eval = client.evaluations.create(
        test_id, gt="gt", pred=saved["name"], iou_type="classification"
    )
    evaluation = client.evaluations.wait(int(started_eval["id"]), timeout=600)
    if evaluation["status"] != "done":
        console.print(f"[red]evaluation failed[/]: {evaluation['error']}")
        return 1

    truth = np.array([test_truth[i] for i in image_ids])
    predicted = np.array(
        [
            int(results[i]["result"]["label"]) if results.get(i, {}).get("result") else -1
            for i in image_ids
        ]
    )
    failed = int((predicted < 0).sum())
    throughput = len(image_ids) / elapsed
    latencies = sorted(
        (
            datetime.fromisoformat(r["completed_at"]) - datetime.fromisoformat(r["created_at"])
        ).total_seconds()
        * 1000
        for r in results.values()
        if r["completed_at"]
    )

    _print_summary(
        evaluation,
        images=len(image_ids),
        throughput=throughput,
        failed=failed,
        saved=saved,
        lineage=lineage,
        metrics=metrics,
    )
    _upload_benchmark(client, version, throughput, latencies, workers)
    _relabel_mistakes(stack, client, image_ids, truth, predicted)

    if serve:
        console.print()
        console.print(f"[bold]VisionHub is running[/] at {stack.url}")
        console.print(
            f"  web UI   : {stack.url}/  (sign in as {ADMIN} / {ADMIN_PASSWORD})", soft_wrap=True
        )
        console.print(f"  API docs : {stack.url}/api/v1/docs")
        console.print(f"  admin    : {stack.url}/admin/  (login {ADMIN} / {ADMIN_PASSWORD})")
        # soft_wrap keeps the line whole, so that it can be pasted into a shell
        console.print(
            f"  token    : export VISIONHUB_SERVER={stack.url} VISIONHUB_TOKEN={admin_token}",
            soft_wrap=True,
        )
        console.print("Press Ctrl-C to stop the server and the workers.")
        with suppress(KeyboardInterrupt):
            while all(p.poll() is None for p in stack.processes):
                time.sleep(1)
    return 0 if failed == 0 else 1


def _relabel_mistakes(
    stack: Stack, client: Client, image_ids: list[int], truth: np.ndarray, predicted: np.ndarray
) -> None:
    mistakes = {
        image: int(t)
        for image, t, p in zip(image_ids, truth, predicted, strict=True)
        if p >= 0 and p != t
    }
    if not mistakes:
        console.print("labeling: the model got every digit right; nothing to relabel")
        return
    _step(
        f"labeling the {len(mistakes)} digits the model got wrong: {LABELER} labels, {REVIEWER} reviews"
    )
    labeler = Client(stack.url, _token(stack, LABELER))
    reviewer = Client(stack.url, _token(stack, REVIEWER))
    try:
        report = labeling.relabel_mistakes(
            client,
            labeler,
            reviewer,
            dataset="digits-test",
            mistakes=mistakes,
            names=(ADMIN, LABELER, REVIEWER),
        )
    finally:
        labeler.close()
        reviewer.close()
    console.print(
        f"labeling: {len(mistakes)} digits relabeled and reviewed, exported as label set "
        f"{labeling.LABEL_SET!r} ({report['annotations']} annotations)"
    )


def _print_summary(
    evaluation: dict[str, Any],
    *,
    images: int,
    throughput: float,
    failed: int,
    saved: dict[str, Any],
    lineage: dict[str, Any],
    metrics: dict[str, float],
) -> None:
    # Both figures come from the server's evaluation of the saved label set (docs/evaluation.md).
    evaluated = evaluation["metrics"]
    confusion = evaluated["confusion_matrix"]
    table = Table(
        title=f"confusion matrix of evaluation {evaluation['id']} (rows: truth, columns: predicted)",
        show_lines=False,
    )
    table.add_column("")
    for label in confusion["labels"]:
        table.add_column(label, justify="right")
    for t, (label, row) in enumerate(zip(confusion["labels"], confusion["counts"], strict=False)):
        table.add_row(
            label,
            *[f"[bold]{n}[/]" if i == t else (str(n) if n else "·") for i, n in enumerate(row)],
        )
    console.print(table)
    console.print(f"training validation accuracy: {metrics['val_accuracy']:.3f}")
    console.print(
        f"predictions saved as label set {saved['name']!r} ({saved['annotations']} annotations)"
    )
    console.print(f"lineage: {_lineage_line(lineage)}")
    console.print(f"images: {images}, failed: {failed}")
    console.print(f"throughput: {throughput:.1f} images/s")
    # The one line scripts and tests read.
    print(f"accuracy: {evaluated['accuracy']:.3f}", flush=True)


def _lineage_line(lineage: dict[str, Any]) -> str:
    chain = lineage.get("chain") or lineage.get("versions") or [lineage]
    first = chain[0] if chain else {}
    dataset = (first.get("dataset") or {}) if isinstance(first, dict) else {}
    training = (first.get("training") or {}) if isinstance(first, dict) else {}
    return f"dataset {dataset.get('name', '?')}, training {training.get('name', '?')}"


def _upload_benchmark(
    client: Client, version: dict[str, Any], throughput: float, latencies: list[float], workers: int
) -> None:
    def pct(q: float) -> float:
        return round(float(np.percentile(latencies, q)), 3) if latencies else 0.0

    result = {
        "model": MODEL,
        "version": int(version["version"]),
        "deployment": DEPLOYMENT,
        "images_per_second": round(throughput, 3),
        "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99)},
        "batch_size": 64,
        "images": len(latencies) or 1,
        "concurrency": workers,
        "runtime": {"visionhub": __version__},
        "machine": {
            "cpu": {"count": os.cpu_count() or 1, "arch": platform.machine()},
            "os": platform.platform(),
            "python": platform.python_version(),
        },
    }
    uploaded = client.upload_inference_result(
        result, site="demo", flavor=f"{os.cpu_count() or 1}-cores", tags=["demo"]
    )
    console.print(f"benchmark result uploaded: {uploaded['id']} (GET /api/v1/benchmark-results)")

"""A worker's images per second, beside a bare loop of decode + preprocess + onnxruntime.

Both run in the same process run, on the same images (1024x768 JPEGs, as users upload them) and
the same model: ``--model small`` (two convolutions, cheaper than decoding one image: the worst
case for the worker's fixed cost per image), ``--model medium`` (about 0.4 GMAC, the cost of a
mobile-size classifier) or ``--model detector`` (the small backbone with a YOLO-style head: a
raw ``[N, 4 + C, 784]`` tensor before NMS, decoded and NMS'd per class by the worker's
postprocessing, boxes mapped back to the 1024x768 originals).

- **bare loop**: the images in memory, decoded and preprocessed by the worker's own functions
  (with reduced-size JPEG decoding) on ``--concurrency`` threads and run through one onnxruntime
  session in batches of ``--batch`` (for the detector: then decoded, NMS'd and mapped back by the
  worker's ``postprocess``); no network, no queue, no cache. The upper bound of what the
  worker can do on the same CPUs.
- **worker**: a real ``visionhub serve`` (SQLite, in a temporary VISIONHUB_HOME) and one
  long-lived ``visionhub worker`` process (started once, warmed up on a few requests, cold
  image cache). The images are uploaded to a dataset beforehand; each round queues its images
  with one ``POST /classifications/batch`` (all appear at once), and the worker's rate is taken
  on the server's clock, from the round's first claim to its last result.

The two alternate in rounds (``--rounds``, each on its own ``--images`` new images: bare loop,
then worker, on the same images), so a machine whose load changes from second to second
affects both alike; the figures are the totals over all rounds, and each round's ratio is
printed too. CPU time per image is read from the kernel for the bare loop (this process), the
worker process and the server processes.

Two set-ups, each with its own bare loop:

- **own cores**: the server pinned to CPU 0, the bare loop and the worker to the other CPUs, as
  when the server runs on another machine (the usual deployment). The 90 % target is for this.
- **shared**: everything on every CPU, the server competing with the worker for them.

Target (issue 5): the worker at least 90 % of the bare loop. Usage::

    .venv/bin/python benchmarks/bench_worker.py [--model small|medium] [--images 200]
        [--rounds 5] [--batch 16] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from visionhub.worker.bench import make_images
from visionhub.worker.decode import decode_pixels, prepare, preprocess
from visionhub.worker.detector import DetectorRuntime
from visionhub.worker.protocol import InputSpec, OutputSpec
from visionhub.worker.runtime import Detections, ModelRuntime

INPUT = {
    "width": 224,
    "height": 224,
    "channels": 3,
    "layout": "NCHW",
    "scale": 1 / 255,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "output": "logits",
}
CLASSES = ["a", "b", "c", "d"]
DETECTING = False  # --model detector


# (output channels, kernel, stride) of each convolution.
MODELS = {
    # Cheaper than decoding one image: the worst case for the worker's per-image overhead.
    "small": [(16, 5, 4), (32, 3, 2)],
    # About 0.4 GMAC, the cost of a mobile-size classifier.
    "medium": [(32, 3, 2), (64, 3, 2), (128, 3, 2), (128, 3, 1), (256, 3, 2), (256, 3, 1)],
    # The small backbone (224 -> 28x28 cells) with a YOLO-style head of 784 anchors.
    "detector": [(16, 5, 4), (32, 3, 2)],
}
# The detector's contract: YOLOv8's layout, boxes as centre and size in input pixels.
DETECTOR_OUTPUT = {
    "format": "raw",
    "layout": "4+C,A",
    "box_format": "cxcywh",
    "score_threshold": 0.25,
    "iou_threshold": 0.45,
    "max_detections": 100,
}


def cnn(layers: list[tuple[int, int, int]], seed: int = 0, *, detector: bool = False) -> bytes:
    """Convolutions with ReLU, global average pooling and a dense layer to the classes; or
    (``detector``) a 1x1 convolution head giving each cell a box (sigmoid, scaled to cx, cy
    in 0-224 and w, h in 0-67) and class scores (sigmoid), as ``[N, 4 + C, cells]``."""
    rng = np.random.default_rng(seed)
    initializers = []

    def weights(name: str, *shape: int) -> str:
        scale = 1.0 / np.sqrt(np.prod(shape[1:]) or 1)
        initializers.append(
            numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)
        )
        return name

    nodes = []
    current, channels = "x", 3
    for i, (out, kernel, stride) in enumerate(layers):
        pad = kernel // 2
        nodes.append(
            helper.make_node(
                "Conv",
                [current, weights(f"w{i}", out, channels, kernel, kernel), weights(f"b{i}", out)],
                [f"c{i}"],
                strides=[stride, stride],
                pads=[pad] * 4,
            )
        )
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        current, channels = f"r{i}", out
    if detector:
        outputs = 4 + len(CLASSES)
        scale = np.array([224, 224, 67, 67] + [1] * len(CLASSES), dtype=np.float32)
        initializers += [
            numpy_helper.from_array(scale.reshape(1, outputs, 1), "scale"),
            numpy_helper.from_array(np.array([0, outputs, -1], dtype=np.int64), "shape"),
        ]
        nodes += [
            helper.make_node(
                "Conv",
                [current, weights("wh", outputs, channels, 1, 1), weights("bh", outputs)],
                ["head"],
            ),
            helper.make_node("Reshape", ["head", "shape"], ["flat"]),
            helper.make_node("Sigmoid", ["flat"], ["unit"]),
            helper.make_node("Mul", ["unit", "scale"], ["output0"]),
        ]
        graph = helper.make_graph(
            nodes,
            "detector",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])],
            [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["N", outputs, "A"])],
            initializer=initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        return bytes(model.SerializeToString())
    nodes += [
        helper.make_node("GlobalAveragePool", [current], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node(
            "Gemm",
            ["f", weights("wd", channels, len(CLASSES)), weights("bd", len(CLASSES))],
            ["logits"],
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", len(CLASSES)])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def bare_detector_loop(
    model_path: Path, images: list[bytes], *, batch: int, concurrency: int, threads: int = 0
) -> tuple[float, list[Any]]:
    """Images/s of decode + preprocess + onnxruntime + NMS (and mapping back), no network."""
    spec = InputSpec.from_json(INPUT)
    output = OutputSpec.from_json(DETECTOR_OUTPUT, "detection")
    runtime = DetectorRuntime(model_path, spec, output, CLASSES, intra_op_threads=threads)
    runtime.answer(*zip(*[prepare(images[0], spec)], strict=True))
    found: list[Any] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for start in range(0, len(images), batch):
            prepared = list(pool.map(lambda d: prepare(d, spec), images[start : start + batch]))
            answers = runtime.answer([t for t, _ in prepared], [g for _, g in prepared])
            found.extend(a.items if isinstance(a, Detections) else a for a in answers)
    return len(images) / (time.perf_counter() - started), found


def bare_loop(
    model_path: Path, images: list[bytes], *, batch: int, concurrency: int, threads: int = 0
) -> tuple[float, list[Any]]:
    """Images/s of decode + preprocess + onnxruntime with the worker's functions, no network."""
    if DETECTING:
        return bare_detector_loop(
            model_path, images, batch=batch, concurrency=concurrency, threads=threads
        )
    spec = InputSpec.from_json(INPUT)
    runtime = ModelRuntime(model_path, spec, CLASSES, intra_op_threads=threads)
    runtime.predict([preprocess(images[0], spec)])
    labels: list[Any] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for start in range(0, len(images), batch):
            tensors = list(pool.map(lambda d: preprocess(d, spec), images[start : start + batch]))
            labels.extend(p.label for p in runtime.predict(tensors))
    return len(images) / (time.perf_counter() - started), labels


def decode_times(images: list[bytes]) -> tuple[float, float]:
    """Median ms to decode one image to 224x224 RGB: full decode, then reduced (draft)."""
    medians = []
    for reduce in (False, True):
        times = []
        for data in images[:50]:
            started = time.perf_counter()
            decode_pixels(data, 3, (224, 224), reduce=reduce)
            times.append((time.perf_counter() - started) * 1000)
        medians.append(float(np.median(times)))
    return medians[0], medians[1]


# --- a real server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "visionhub", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"visionhub {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONHUB_")}
    env.update(VISIONHUB_HOME=str(home), PYTHONUNBUFFERED="1")
    run_cli(env, "migrate")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "visionhub",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--threads",
            "32",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start:\n{(home / 'server.log').read_text()}")
        time.sleep(0.1)
    return server, url, env


def make_token(env: dict[str, str], username: str, *flags: str) -> str:
    run_cli(env, "user", "create", username, *flags)
    return run_cli(env, "token", "create", username).strip().splitlines()[-1]


def check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text[:500]}"
        )
    return response.json()


def deploy(api: httpx.Client, model_bytes: bytes) -> None:
    """Define, push and deploy the model as ``bench``."""
    body: dict[str, Any] = {"name": "bench-cnn", "classes": CLASSES, "input": INPUT}
    if DETECTING:
        body.update(task="detection", output=DETECTOR_OUTPUT)
    check(api.post("/models", json=body))
    check(
        api.post(
            "/models/bench-cnn/versions",
            files={"files": ("model.onnx", model_bytes, "application/octet-stream")},
        )
    )
    check(api.post("/deployments", json={"name": "bench", "model": "bench-cnn", "version": 1}))


def upload(api: httpx.Client, images: list[bytes]) -> list[int]:
    """Upload every image to a new dataset; the dataset image ids, in order."""
    dataset = check(api.post("/datasets", json={"name": "bench-images"}))["id"]

    def one(data: bytes) -> int:
        files = {"file": ("image.jpg", data, "image/jpeg")}
        return int(check(api.post(f"/datasets/{dataset}/images", files=files))["id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, images))


def queue(api: httpx.Client, image_ids: list[int]) -> list[int]:
    """Queue these dataset images for ``bench`` in one call; the request ids, in order."""
    body = check(
        api.post("/classifications/batch", json={"deployment": "bench", "image_ids": image_ids})
    )
    return [int(i) for i in body["ids"]]


def start_worker(
    url: str,
    token: str,
    env: dict[str, str],
    cache: Path,
    extra: list[str],
    cpus: set[int],
    log: IO[bytes],
) -> subprocess.Popen[bytes]:
    """A ``visionhub worker`` process on ``cpus`` that runs until it is stopped; its log goes
    to ``log`` (a file: a pipe nobody reads would stop the worker once full)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "visionhub",
            "worker",
            "--server",
            url,
            "--token",
            token,
            "--cache-dir",
            str(cache),
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )


def collect(api: httpx.Client, ids: list[int]) -> tuple[list[Any], float]:
    """The labels (or detections), and the seconds from the first claim to the last result
    (server clock)."""
    labels: list[Any] = []
    first: datetime | None = None
    last: datetime | None = None
    for request_id in ids:
        body = check(api.get(f"/classifications/{request_id}", params={"wait": 30}))
        if body["status"] != "completed":
            raise SystemExit(f"request {request_id} ended {body['status']}: {body['errors']}")
        result = body["result"]
        labels.append(result["label"] if result["detections"] is None else result["detections"])
        assigned = datetime.fromisoformat(body["assigned_at"])
        completed = datetime.fromisoformat(body["completed_at"])
        first = assigned if first is None else min(first, assigned)
        last = completed if last is None else max(last, completed)
    assert first is not None and last is not None
    return labels, (last - first).total_seconds()


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its children (the server's processes)."""
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    total = 0.0
    for process in [pid, *map(int, children)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def pin(pid: int, cpus: set[int]) -> None:
    """Move every thread of ``pid`` and of its children to ``cpus``."""
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for process in [pid, *map(int, children)]:
        for task in Path(f"/proc/{process}/task").iterdir():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200, help="new images per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--model", choices=sorted(MODELS), default="small")
    parser.add_argument("--verbose", action="store_true", help="print the workers' logs")
    args = parser.parse_args()

    every = os.sched_getaffinity(0)
    worker_cpus = every - {min(every)}
    setups = [("own cores", worker_cpus), ("shared", every)] if worker_cpus else [("shared", every)]
    per_setup = args.images * args.rounds
    images = make_images(per_setup * len(setups) + args.batch, seed=1)
    global DETECTING
    DETECTING = args.model == "detector"
    model_bytes = cnn(MODELS[args.model], detector=DETECTING)
    home = Path(tempfile.mkdtemp(prefix="visionhub-bench-worker-"))
    server = None
    try:
        model_path = home / "model.onnx"
        model_path.write_bytes(model_bytes)
        full_ms, reduced_ms = decode_times(images)
        server, url, env = start_server(home)
        alice = make_token(env, "alice")
        worker_token = make_token(env, "bench-worker", "--worker")
        print(
            f"images: JPEGs 1024x768 ({sum(map(len, images)) / len(images) / 1024:.0f} KB each), "
            f"{args.rounds} rounds of {args.images} new images per set-up; model: {args.model} "
            f"CNN 3x224x224, batch {args.batch}, concurrency {args.concurrency}, {len(every)} CPUs"
        )
        print(
            f"JPEG decode to 224x224: full {full_ms:.1f} ms, reduced (draft) {reduced_ms:.1f} ms"
            f" ({full_ms / reduced_ms:.1f}x)"
        )
        with httpx.Client(
            base_url=f"{url}/api/v1", timeout=120, headers={"Authorization": f"Bearer {alice}"}
        ) as api:
            deploy(api, model_bytes)
            ids = upload(api, images)
            warm_ids, ids = ids[: args.batch], ids[args.batch :]
            warm_images, images = images[: args.batch], images[args.batch :]
            for n, (name, cpus) in enumerate(setups):
                threads = len(cpus) if cpus != every else 0
                pin(server.pid, every - cpus or every)
                extra = [
                    "--batch",
                    str(args.batch),
                    "--concurrency",
                    str(args.concurrency),
                    "--threads",
                    str(threads),
                ]
                log_path = home / f"worker{n}.log"
                log_file = log_path.open("wb")
                worker = start_worker(
                    url, worker_token, env, home / f"cache{n}", extra, cpus, log_file
                )
                try:
                    # Start-up (imports, model download, session) is left out of the figures.
                    collect(api, queue(api, warm_ids))
                    totals = measure_rounds(
                        api,
                        server.pid,
                        worker.pid,
                        model_path,
                        images[n * per_setup : (n + 1) * per_setup],
                        ids[n * per_setup : (n + 1) * per_setup],
                        cpus=cpus,
                        every=every,
                        args=args,
                        threads=threads,
                        name=name,
                    )
                except BaseException:
                    worker.terminate()
                    worker.wait(timeout=60)
                    log_file.close()
                    print(log_path.read_text()[-5000:], file=sys.stderr)
                    raise
                finally:
                    worker.terminate()
                    worker.wait(timeout=60)
                    log_file.close()
                log = log_path.read_text()
                if worker.returncode != 0:
                    raise SystemExit(f"worker exited {worker.returncode}:\n{log[-3000:]}")
                if args.verbose:
                    print(log)
                print(totals)
            del warm_images
        print("target: the worker at least 90 % of the bare loop (own cores)")
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(home, ignore_errors=True)


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_rounds(
    api: httpx.Client,
    server_pid: int,
    worker_pid: int,
    model_path: Path,
    images: list[bytes],
    ids: list[int],
    *,
    cpus: set[int],
    every: set[int],
    args: argparse.Namespace,
    threads: int,
    name: str,
) -> str:
    """Alternate bare loop and worker over ``args.rounds`` rounds; the summary line."""
    bare_time = worker_time = bare_cpu = worker_cpu = server_cpu = 0.0
    ratios = []
    for r in range(args.rounds):
        part = slice(r * args.images, (r + 1) * args.images)
        os.sched_setaffinity(0, cpus)
        cpu = cpu_seconds(resource.RUSAGE_SELF)
        rate, bare_labels = bare_loop(
            model_path,
            images[part],
            batch=args.batch,
            concurrency=args.concurrency,
            threads=threads,
        )
        bare_cpu += cpu_seconds(resource.RUSAGE_SELF) - cpu
        os.sched_setaffinity(0, every)
        bare_time += args.images / rate
        worker_before = process_cpu_seconds(worker_pid)
        server_before = tree_cpu_seconds(server_pid)
        requests = queue(api, ids[part])
        # One waiting read while the worker runs (reading every request as it completes would
        # load the server, and so the worker's CPUs in the shared set-up); the rest after.
        check(api.get(f"/classifications/{requests[-1]}", params={"wait": 60}))
        worker_cpu += process_cpu_seconds(worker_pid) - worker_before
        server_cpu += tree_cpu_seconds(server_pid) - server_before
        labels, span = collect(api, requests)
        assert same_answers(labels, bare_labels), "the worker's answers differ from the bare loop's"
        worker_time += span
        ratios.append((args.images / span) / rate)
        print(
            f"{name:9} round {r + 1}: bare loop {rate:6.1f} images/s, worker "
            f"{args.images / span:6.1f} images/s = {ratios[-1]:.0%}"
        )
    count = args.images * args.rounds
    per_image = 1000 / count
    bare, worker = count / bare_time, count / worker_time
    return (
        f"{name:9} TOTAL bare loop {bare:6.1f} images/s, worker {worker:6.1f} images/s = "
        f"{worker / bare:.0%} (rounds: median {np.median(ratios):.0%}, "
        f"{min(ratios):.0%}-{max(ratios):.0%}); answers identical\n"
        f"{'':9} CPU per image: bare loop {bare_cpu * per_image:.2f} ms, worker "
        f"{worker_cpu * per_image:.2f} ms (= {bare_cpu / worker_cpu:.0%}), server "
        f"{server_cpu * per_image:.2f} ms (with queueing the requests)"
    )


def same_answers(worker: list[Any], bare: list[Any]) -> bool:
    """Labels equal; detections equal up to the 3 decimals the worker rounds boxes to (the API
    sends the detections' numbers back as floats)."""
    if not DETECTING:
        return worker == bare
    if len(worker) != len(bare):
        return False
    for got, want in zip(worker, bare, strict=True):
        if [d["label"] for d in got] != [d["label"] for d in want]:
            return False
        for a, b in zip(got, want, strict=True):
            if (
                abs(a["score"] - b["score"]) > 1e-5
                or max(abs(x - y) for x, y in zip(a["box"], b["box"], strict=True)) > 1e-2
            ):
                return False
    return True


if __name__ == "__main__":
    main()

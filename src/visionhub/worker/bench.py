"""``visionhub worker bench``: this machine's throughput on a deployment's model.

Generated images go through the worker's own pipeline (decode, preprocess, batched onnxruntime
run) without the network: the figure is what this machine can do at best, for choosing batch and
concurrency and for the benchmark-results database (uploaded with ``upload_inference_result``
when the client has it).
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import PIL
from PIL import Image

from visionhub import __version__
from visionhub.client import Client, ClientError
from visionhub.worker.cache import WorkerCache
from visionhub.worker.decode import decode_pixels, preprocess
from visionhub.worker.protocol import FileRef, InputSpec, ModelRef
from visionhub.worker.runtime import ModelRuntime


@dataclass(frozen=True, slots=True)
class BenchModel:
    name: str
    model: ModelRef
    path: Path


def resolve_deployment(client: Client, deployment: str, cache: WorkerCache) -> BenchModel:
    """The model a deployment routes to, with its ONNX file fetched into ``cache``."""
    dep = client.get(f"/deployments/{deployment}")
    name = str(dep["model"])
    owner = dep.get("model_owner")
    definition = None
    if owner:
        try:
            definition = client.get(f"/models/{owner}/{name}")
            name = f"{owner}/{name}"
        except ClientError as exc:
            if exc.status != 404:
                raise
    if definition is None:
        definition = client.get(f"/models/{name}")
    version = client.get(f"/models/{name}/versions/{dep['version']}")
    base = f"{client.server}/api/v1/models/{name}/versions/{dep['version']}/files"
    model = ModelRef(
        version_id=version.get("id", dep.get("model_version_id", 0)),
        input=InputSpec.from_json(definition["input"]),
        classes=tuple(definition["classes"]),
        files=tuple(
            FileRef(f["name"], f["sha256"], f"{base}/{f['name']}") for f in version["files"]
        ),
    )

    def download(url: str, dest: Path) -> None:
        client.download(url, dest)

    path = cache.model_path(model, download)
    return BenchModel(f"{name}:{dep['version']}", model, path)


def make_images(count: int, size: tuple[int, int] = (1024, 768), *, seed: int = 0) -> list[bytes]:
    """Photograph-like JPEGs (smooth shapes plus grain), each different."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        coarse = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
        smooth = np.asarray(
            Image.fromarray(coarse, "RGB").resize(size, Image.Resampling.BICUBIC), dtype=np.int16
        )
        grain = rng.integers(-12, 13, size=smooth.shape, dtype=np.int16)
        pixels = np.clip(smooth + grain, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def run_bench(
    model: BenchModel,
    images: Sequence[bytes],
    *,
    batch: int = 16,
    concurrency: int = 4,
    intra_op_threads: int = 0,
) -> dict[str, Any]:
    """Measure batched throughput and per-batch latency (as the worker runs), the latency of one
    image alone, and JPEG decoding at full and reduced size.

    The result follows the schema of the benchmarks app's built-in inference benchmark
    (``benchmarks/data/inference.schema.json``), plus the extra fields ``image_latency_ms``,
    ``decode_ms``, ``input`` and ``image_size``.
    """
    spec = model.model.input
    runtime = ModelRuntime(model.path, spec, model.model.classes, intra_op_threads=intra_op_threads)
    size = (spec.width, spec.height)
    runtime.predict([preprocess(images[0], spec)])  # warm-up: first runs allocate

    full = _timed(lambda data: decode_pixels(data, spec.channels, size, reduce=False), images)
    reduced = _timed(lambda data: decode_pixels(data, spec.channels, size, reduce=True), images)
    single = _timed(lambda data: runtime.predict([preprocess(data, spec)]), images)

    batches: list[float] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for start in range(0, len(images), batch):
            batch_started = time.perf_counter()
            chunk = images[start : start + batch]
            runtime.predict(list(pool.map(lambda data: preprocess(data, spec), chunk)))
            batches.append((time.perf_counter() - batch_started) * 1000)
    elapsed = time.perf_counter() - started

    name, _, version = model.name.rpartition(":")
    return {
        "model": name,
        "version": int(version),
        "images_per_second": round(len(images) / elapsed, 2),
        "latency_ms": {**_summary(batches), "max": round(max(batches), 3)},
        "image_latency_ms": _summary(single),
        "batch_size": batch,
        "images": len(images),
        "concurrency": concurrency,
        "intra_op_threads": intra_op_threads,
        "decode_ms": {
            "full": round(statistics.median(full), 3),
            "reduced": round(statistics.median(reduced), 3),
            "speedup": round(statistics.median(full) / statistics.median(reduced), 2),
        },
        "input": spec.to_json(),
        "image_size": list(Image.open(io.BytesIO(images[0])).size),
        "image_format": "JPEG",
        "runtime": {
            "visionhub": __version__,
            "onnxruntime": ort.__version__,
            "pillow": PIL.__version__,
            "numpy": np.__version__,
            "providers": runtime.session.get_providers(),
        },
        "machine": machine(),
    }


def _summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 3),
        "p90": round(percentile(values, 90), 3),
        "p99": round(percentile(values, 99), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def machine() -> dict[str, Any]:
    """What the benchmark ran on (CPU model from /proc/cpuinfo where there is one)."""
    cpu: dict[str, Any] = {"count": os.cpu_count() or 1, "arch": platform.machine()}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu["brand_raw"] = line.split(":", 1)[1].strip()
                break
    info: dict[str, Any] = {
        "cpu": cpu,
        "gpu": None,
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(ValueError, OSError, AttributeError):
        info["memory_bytes"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return info


def _timed(work: Any, images: Sequence[bytes]) -> list[float]:
    """Milliseconds of ``work(image)`` for each image, run one after the other."""
    times = []
    for data in images:
        started = time.perf_counter()
        work(data)
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(result: dict[str, Any], out: Any = sys.stdout) -> None:
    """One line for people: throughput, latencies, and what reduced JPEG decoding gains."""
    batch = result["latency_ms"]
    single = result["image_latency_ms"]
    decode = result["decode_ms"]
    print(
        f"{result['model']}:{result['version']}: {result['images_per_second']} images/s "
        f"(batch {result['batch_size']}, {result['concurrency']} threads); batch latency p50 "
        f"{batch['p50']} ms, p90 {batch['p90']} ms, p99 {batch['p99']} ms; one image alone "
        f"p50 {single['p50']} ms; JPEG decode {decode['full']} ms full, {decode['reduced']} ms "
        f"reduced ({decode['speedup']}x)",
        file=out,
    )

"""COCO import through the real server, beside the raw insert speed of the same rows.

For each database (SQLite and PostgreSQL), in one run:

- a synthetic COCO file the size of val2017 (5,000 images, 36,000 boxes with polygons, 80
  categories; ``--scale 10`` for ten times that) with tiny generated PNG images;
- **import**: a fresh ``visionhub serve`` and the ``visionhub dataset import coco`` code path
  (``Client.import_coco``) in a child process, timed per phase: images (hash, upload, add) and
  annotations (streamed from the file with ijson, sent in batches of 10,000, checked and
  inserted by the server); the peak memory (max RSS) of the client process and of the server
  workers is measured;
- **raw**: the same annotation rows inserted straight into the same table (its indexes in
  place) by the database driver, with nothing else: ``executemany`` (and multi-row ``INSERT``
  statements, which the import uses) on SQLite, ``COPY`` (and ``executemany``) on PostgreSQL.

Target (issue 3): import at least half the raw speed (the reference: plain ``executemany`` on
SQLite, ``COPY`` on PostgreSQL; the ratio to the fastest raw method is printed too), and flat
memory. Usage::

    .venv/bin/python benchmarks/bench_import.py [--scale 1] [--databases sqlite,postgres]
        [--postgres-url postgres://postgres@127.0.0.1:5432/visionhub_bench_import]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import psycopg
from PIL import Image

IMAGE_W, IMAGE_H = 64, 48
POLYGON_POINTS = 12
COLUMNS = (
    "image_id, label_set_id, category_id, conf, is_group, bbox_x, bbox_y, bbox_w, bbox_h, "
    "area, segmentation, alpha_sha256, keypoints, caption, confirm_type, compare_result, "
    "matched_gt_id"
)


# --- the synthetic dataset ---------------------------------------------------------------------


def make_dataset(root: Path, images: int, annotations: int, categories: int) -> Path:
    """``root/images/*.png`` and ``root/instances.json``, COCO val2017-shaped."""
    rng = random.Random(0)
    pixels = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    entries = []
    for i in range(images):
        name = f"{i:012d}.png"
        noise = pixels.integers(0, 256, size=(IMAGE_H, IMAGE_W, 3), dtype=np.uint8)
        Image.fromarray(noise, "RGB").save(root / "images" / name, compress_level=1)
        entries.append({"id": 100_000 + i, "file_name": name, "width": IMAGE_W, "height": IMAGE_H})
    notes = []
    for n in range(annotations):
        x, y = rng.uniform(0, IMAGE_W / 2), rng.uniform(0, IMAGE_H / 2)
        w, h = rng.uniform(2, IMAGE_W / 2), rng.uniform(2, IMAGE_H / 2)
        polygon = []
        for k in range(POLYGON_POINTS):
            angle = 2 * np.pi * k / POLYGON_POINTS
            polygon += [
                round(x + w / 2 + w / 2 * np.cos(angle), 2),
                round(y + h / 2 + h / 2 * np.sin(angle), 2),
            ]
        notes.append(
            {
                "id": n + 1,
                "image_id": 100_000 + rng.randrange(images),
                "category_id": 1 + rng.randrange(categories),
                "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                "segmentation": [polygon],
                "area": round(w * h * 0.78, 2),
                "iscrowd": 0,
            }
        )
    cats = [
        {"id": c + 1, "name": f"class-{c + 1}", "supercategory": "thing"} for c in range(categories)
    ]
    path = root / "instances.json"
    path.write_text(
        json.dumps(
            {
                "info": {},
                "licenses": [],
                "images": entries,
                "annotations": notes,
                "categories": cats,
            }
        )
    )
    return path


# --- servers and databases ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fresh_postgres(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = parts.path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def visionhub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "visionhub", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"visionhub {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def peak_rss_mb(pid: int) -> float:
    """VmHWM of ``pid`` and its children (gunicorn workers), in MB."""
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    pids += [int(c) for c in children]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return total


class Server:
    def __init__(self, home: Path, database_url: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONHUB_")}
        self.env.update(
            VISIONHUB_HOME=str(home),
            VISIONHUB_DATABASE_URL=database_url,
            VISIONHUB_LOG_LEVEL="WARNING",
            # Persistent connections, as a production PostgreSQL deployment runs.
            VISIONHUB_DB_CONN_MAX_AGE="60",
        )
        visionhub(self.env, "migrate")
        visionhub(self.env, "user", "create", "bench")
        self.token = visionhub(self.env, "token", "create", "bench").strip().splitlines()[-1]
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = (home / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "visionhub", "serve", "--port", self.url.rsplit(":", 1)[1],
             "--workers", "2", "--threads", "16"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)

    def stop(self) -> float:
        peak = peak_rss_mb(self.process.pid)
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        return peak


# --- the import, in a child process so that its peak memory is its own --------------------------


def child(server: str, token: str, name: str, annotations: str, images: str) -> None:
    from visionhub.client import Client

    marks: dict[str, float] = {"start": time.monotonic()}

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage == "images":
            marks["images"] = time.monotonic()

    client = Client(server, token, timeout=600)
    try:
        report = client.import_coco(name, annotations, images, threads=4, progress=progress)
    finally:
        client.close()
    marks["end"] = time.monotonic()
    # VmHWM, not getrusage: ru_maxrss survives exec and would count the parent's memory.
    peak = peak_rss_mb(os.getpid())
    print(
        json.dumps(
            {
                "images_seconds": marks["images"] - marks["start"],
                "annotations_seconds": marks["end"] - marks["images"],
                "annotations": report.annotations,
                "images": report.images.uploaded,
                "client_peak_mb": peak,
            }
        )
    )


def run_import(server: Server, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", server.url, server.token, "bench",
         str(path), str(path.parent / "images")],
        capture_output=True, text=True, env=server.env,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"import failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the raw reference ---------------------------------------------------------------------------


def raw_rows(
    path: Path, images: dict[int, int], categories: dict[int, int], label_set: int
) -> list[tuple[Any, ...]]:
    """The rows the import stored, built from the file (outside the timing)."""
    document = json.loads(path.read_text())
    return [
        (
            images[n["image_id"]], label_set, categories[n["category_id"]], 1.0, False,
            *n["bbox"], n["area"], json.dumps(n["segmentation"], separators=(",", ":")),
            "", None, "", 0, None, None,
        )
        for n in document["annotations"]
    ]  # fmt: skip


def raw_sqlite(db: Path, path: Path) -> dict[str, float]:
    """``executemany`` (the issue's reference) and multi-row ``INSERT … VALUES (…), (…)``
    statements of 1,000 rows (what the import itself uses), each in one transaction."""
    speeds: dict[str, float] = {}
    conn = sqlite3.connect(db)
    images = dict(conn.execute("SELECT source_id, id FROM datasets_image"))
    categories = dict(conn.execute("SELECT source_id, id FROM datasets_category"))
    one = "(" + ", ".join(["?"] * 17) + ")"
    for method in ("executemany", "multi-row"):
        conn.execute(
            "INSERT INTO datasets_labelset (dataset_id, name, kind, compare_precisions, created_at) "
            "SELECT dataset_id, ?, 'GT', '[]', created_at FROM datasets_labelset LIMIT 1",
            [f"raw-{method}"],
        )
        conn.commit()
        label_set = conn.execute("SELECT max(id) FROM datasets_labelset").fetchone()[0]
        rows = raw_rows(path, images, categories, label_set)
        started = time.perf_counter()
        with conn:
            if method == "executemany":
                conn.executemany(f"INSERT INTO datasets_annotation ({COLUMNS}) VALUES {one}", rows)
            else:
                for start in range(0, len(rows), 1000):
                    chunk = rows[start : start + 1000]
                    conn.execute(
                        f"INSERT INTO datasets_annotation ({COLUMNS}) VALUES "
                        + ", ".join([one] * len(chunk)),
                        [value for row in chunk for value in row],
                    )
        speeds[method] = len(rows) / (time.perf_counter() - started)
    conn.close()
    return speeds


def raw_postgres(url: str, path: Path) -> dict[str, float]:
    speeds: dict[str, float] = {}
    with psycopg.connect(url) as conn:
        images: dict[int, int] = dict(
            conn.execute("SELECT source_id, id FROM datasets_image").fetchall()
        )
        categories: dict[int, int] = dict(
            conn.execute("SELECT source_id, id FROM datasets_category").fetchall()
        )
        for method in ("copy", "executemany"):
            label_set = conn.execute(
                "INSERT INTO datasets_labelset (dataset_id, name, kind, compare_precisions, created_at) "
                "SELECT dataset_id, %s, 'GT', '[]', created_at FROM datasets_labelset LIMIT 1 RETURNING id",
                [f"raw-{method}"],
            ).fetchone()[0]  # type: ignore[index]
            conn.commit()
            rows = raw_rows(path, images, categories, label_set)
            started = time.perf_counter()
            with conn.cursor() as cursor:
                if method == "copy":
                    with cursor.copy(f"COPY datasets_annotation ({COLUMNS}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    marks = ", ".join(["%s"] * 17)
                    cursor.executemany(
                        f"INSERT INTO datasets_annotation ({COLUMNS}) VALUES ({marks})", rows
                    )
            conn.commit()
            speeds[method] = len(rows) / (time.perf_counter() - started)
    return speeds


# --- main -----------------------------------------------------------------------------------------


def bench(database: str, path: Path, work: Path, postgres_url: str) -> dict[str, Any]:
    home = work / f"home-{database}"
    home.mkdir()
    if database == "sqlite":
        url = f"sqlite:///{home / 'bench.sqlite3'}"
    else:
        fresh_postgres(postgres_url)
        url = postgres_url
    server = Server(home, url)
    try:
        result = run_import(server, path)
    finally:
        result_server_peak = server.stop()
    result["server_peak_mb"] = result_server_peak
    result["raw"] = (
        raw_sqlite(home / "bench.sqlite3", path)
        if database == "sqlite"
        else raw_postgres(url, path)
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=1, help="1 = val2017 size, 10 = ten times")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument(
        "--postgres-url", default="postgres://postgres@127.0.0.1:5432/visionhub_bench_import"
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    images, annotations, categories = 5_000 * args.scale, 36_000 * args.scale, 80
    work = Path(tempfile.mkdtemp(prefix="vh-bench-import-"))
    try:
        started = time.perf_counter()
        path = make_dataset(work / "coco", images, annotations, categories)
        size_mb = path.stat().st_size / 1e6
        print(
            f"synthetic COCO: {images:,} images ({IMAGE_W}x{IMAGE_H} PNG), {annotations:,} boxes with "
            f"{POLYGON_POINTS}-point polygons, {categories} categories; JSON {size_mb:.1f} MB "
            f"(made in {time.perf_counter() - started:.0f} s)"
        )
        header = (
            f"{'database':<10} {'images/s':>9} {'annotations/s':>14} {'raw/s':>34} "
            f"{'÷ reference':>11} {'÷ fastest':>9} {'client MB':>10} {'server MB':>10}"
        )
        print(header)
        for database in args.databases.split(","):
            r = bench(database, path, work, args.postgres_url)
            ann_speed = r["annotations"] / r["annotations_seconds"]
            # The reference: plain executemany on SQLite, COPY on PostgreSQL.
            reference = r["raw"]["executemany" if database == "sqlite" else "copy"]
            fastest = max(r["raw"].values())
            raw = ", ".join(f"{k} {v:,.0f}" for k, v in r["raw"].items())
            print(
                f"{database:<10} {r['images'] / r['images_seconds']:>9,.0f} {ann_speed:>14,.0f} "
                f"{raw:>34} {ann_speed / reference:>11.2f} {ann_speed / fastest:>9.2f} "
                f"{r['client_peak_mb']:>10.0f} {r['server_peak_mb']:>10.0f}",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

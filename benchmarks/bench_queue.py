"""The classification queue's throughput on PostgreSQL, beside the raw limit of its own SQL.

All in one run, on one fresh PostgreSQL database:

- **raw SQL limit**: the claim statement of ``visionhub.inference.queue`` (``CLAIM.postgres`` in ``inference/sql.py``,
  ``FOR UPDATE SKIP LOCKED``) plus the token insert, then the completion (lock the requests,
  use the tokens, complete the requests, insert the results), sent by one psycopg connection
  with nothing else around it: one job per transaction, and 64 jobs per claim.
- **protocol, no inference**: a real ``visionhub serve`` and 4 threads speaking the worker
  protocol over HTTP (claim 64, send 64 results), with no image download or model: what the
  queue itself serves through the API.
- **end to end**: the same server with 1, 2 and 4 real ``visionhub worker`` processes and a
  trivial model (an 8x8 brightness classifier): each request's image is downloaded, decoded and
  classified, and its result sent. Timed from the batch submission to the last completion,
  with the workers already started and waiting.

Target (issue 5): the queue at least a third of the raw SQL limit. Usage::

    .venv/bin/python benchmarks/bench_queue.py [--requests 2000]
        [--database-url postgres://postgres@127.0.0.1:5432/visionhub_bench_queue]
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import psycopg
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.factories (the trivial model)

SIZE = 8
INPUT = {"width": SIZE, "height": SIZE, "channels": 1, "layout": "NCHW"}
CLASSES = ["dark", "bright"]


# --- set-up ----------------------------------------------------------------------------------------


def fresh_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def visionhub(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "visionhub", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def make_token(env: dict[str, str], username: str, *flags: str) -> str:
    visionhub(env, "user", "create", username, *flags)
    return visionhub(env, "token", "create", username).strip().splitlines()[-1]


def png(i: int) -> bytes:
    """An 8x8 grey image, distinct for every ``i``."""
    level = 40 if i % 2 else 210
    pixels = np.full((SIZE, SIZE), level, dtype=np.uint8)
    pixels[0, :4] = [(i >> shift) & 0xFF for shift in (0, 8, 16, 24)]
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, format="PNG")
    return buffer.getvalue()


class Server:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "visionhub", "serve", "--port", port, "--workers", "2"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the server did not start; see {log}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def api(token: str, url: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=120
    )


def check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()


def deploy(owner: httpx.Client) -> str:
    from tests.factories import make_brightness_classifier

    model = f"bench-{secrets.token_hex(4)}"
    check(owner.post("/models", json={"name": model, "classes": CLASSES, "input": INPUT}))
    onnx = make_brightness_classifier(SIZE, SIZE, 1)
    check(
        owner.post(
            f"/models/{model}/versions",
            files=[("files", ("model.onnx", onnx, "application/octet-stream"))],
        )
    )
    name = f"{model}-d"
    check(owner.post("/deployments", json={"name": name, "model": model, "version": 1}))
    return name


def dataset(owner: httpx.Client, n: int) -> list[int]:
    """A dataset of ``n`` distinct images, uploaded over 8 connections."""
    ds = check(owner.post("/datasets", json={"name": f"bench-{secrets.token_hex(4)}"}))["id"]
    ids: list[int] = [0] * n
    base_url, headers = str(owner.base_url), dict(owner.headers)

    def upload(part: range) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as http:
            for i in part:
                files = {"file": (f"{i}.png", png(i), "image/png")}
                ids[i] = check(http.post(f"/datasets/{ds}/images", files=files))["id"]

    threads = [threading.Thread(target=upload, args=(range(k, n, 8),)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids


def submit(owner: httpx.Client, deployment: str, image_ids: list[int]) -> None:
    check(
        owner.post(
            "/classifications/batch", json={"deployment": deployment, "image_ids": image_ids}
        )
    )


def completed(owner: httpx.Client, deployment: str) -> int:
    counts: dict[str, int] = check(owner.get(f"/deployments/{deployment}/stats"))["counts"]
    return counts["completed"] + counts["failed"]


def wait_done(owner: httpx.Client, deployment: str, n: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while completed(owner, deployment) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"{deployment}: not done after {timeout} s")
        time.sleep(0.05)


# --- the raw SQL limit ---------------------------------------------------------------------------

COMPLETE_LOCK = (
    "SELECT id FROM inference_classificationrequest WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
)
COMPLETE_TOKENS = (
    "UPDATE inference_dispatchtoken SET state = 'used', finished_at = now() "
    "WHERE id = ANY(%s) AND state = 'active'"
)
COMPLETE_REQUESTS = (
    "UPDATE inference_classificationrequest SET status = 'completed', active_leases = 0, "
    "label = 'bright', scores = '{\"bright\": 1.0}', completed_at = now() WHERE id = ANY(%s)"
)
INSERT_TOKENS = (
    "INSERT INTO inference_dispatchtoken (request_id, user_id, worker_id, attempt, token_hash, "
    "replicated, state, created_at, expires_at) "
    "SELECT r, %s, %s, 1, h, false, 'active', now(), now() + interval '60 seconds' "
    "FROM unnest(%s::bigint[], %s::text[]) AS t(r, h) RETURNING id"
)
INSERT_RESULTS = (
    "INSERT INTO inference_classificationresult (request_id, token_id, worker_id, user_id, "
    "attempt, completed_on, label, scores, errors, accepted) "
    "SELECT r, t, %s, %s, 1, now(), 'bright', '{\"bright\": 1.0}', '[]', true "
    "FROM unnest(%s::bigint[], %s::bigint[]) AS x(r, t)"
)


def raw_sql_limit(url: str, deployment: str, jobs: int, per_claim: int) -> float:
    """Jobs per second of the claim and completion SQL alone, on one connection."""
    from visionhub.inference.queue import queue_sql
    from visionhub.inference.sql import CLAIM

    with psycopg.connect(url, autocommit=True) as conn:
        dep_id, version_id, owner_id = conn.execute(
            "SELECT d.id, d.model_version_id, d.owner_id FROM registry_deployment d WHERE name = %s",
            [deployment],
        ).fetchone()  # type: ignore[misc]
        worker_id = conn.execute(
            "INSERT INTO inference_worker (owner_id, name, version, site, flavor, deployments, "
            "created_at, last_seen, jobs_done, jobs_failed, votes_compared, votes_agreed) "
            "VALUES (%s, %s, '', '', '', '[]', now(), now(), 0, 0, 0, 0) RETURNING id",
            [owner_id, f"raw-{per_claim}"],
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO inference_classificationrequest (deployment_id, model_version_id, "
            "image_sha256, submitter_id, status, priority, fair_key, replication, quorum, "
            "replicas_wanted, open_slots, active_leases, lease_count, attempts, failures, "
            "max_attempts, errors, label, model_ref, created_at) "
            "SELECT %s, %s, md5(g::text) || md5(g::text), %s, 'pending', 0, g, 1, 1, 1, 1, 0, 0, "
            "0, 0, 3, '[]', '', 'raw:1', now() FROM generate_series(1, %s) g",
            [dep_id, version_id, owner_id, jobs],
        )
        conn.execute("ANALYZE")
        claim_sql, claim_params = queue_sql(
            CLAIM.postgres, user_id=owner_id, limit=per_claim, deployment_ids=[dep_id]
        )
        done = 0
        started = time.perf_counter()
        while done < jobs:
            with conn.transaction():
                now = conn.execute("SELECT now(), now() + interval '60 seconds'").fetchone()
                rows = conn.execute(claim_sql, [*claim_params, *now]).fetchall()  # type: ignore[misc]
                if not rows:
                    break
                ids = [r[0] for r in rows]
                hashes = [secrets.token_hex(32) for _ in ids]
                tokens = conn.execute(INSERT_TOKENS, [owner_id, worker_id, ids, hashes]).fetchall()
            with conn.transaction():
                conn.execute(COMPLETE_LOCK, [ids])
                token_ids = [t[0] for t in tokens]
                conn.execute(COMPLETE_TOKENS, [token_ids])
                conn.execute(COMPLETE_REQUESTS, [ids])
                conn.execute(INSERT_RESULTS, [worker_id, owner_id, ids, token_ids])
            done += len(ids)
        return done / (time.perf_counter() - started)


# --- through the server -------------------------------------------------------------------------


def protocol_only(url: str, token: str, owner: httpx.Client, image_ids: list[int]) -> float:
    """Requests per second with 4 threads speaking the protocol over HTTP, no inference."""
    deployment = deploy(owner)
    n = len(image_ids)

    def work(k: int) -> None:
        with api(token, url) as http:
            body = {"max": 64, "wait": 0, "deployments": [deployment], "worker": {"name": f"p{k}"}}
            while True:
                jobs = check(http.post("/worker/claim", json=body))["jobs"]
                if not jobs:
                    return
                results = [
                    {
                        "request_id": j["request_id"],
                        "dispatch_token": j["dispatch_token"],
                        "label": "bright",
                    }
                    for j in jobs
                ]
                check(http.post("/worker/results", json={"results": results}))

    submit(owner, deployment, image_ids)
    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_done(owner, deployment, n)
    return n / (time.perf_counter() - started)


def end_to_end(
    url: str,
    token: str,
    owner: httpx.Client,
    image_ids: list[int],
    workers: int,
    tmp: Path,
    env: dict[str, str],
) -> float:
    """Requests per second with ``workers`` real worker processes (cold caches)."""
    deployment = deploy(owner)
    processes = []
    for k in range(workers):
        log = (tmp / f"worker-{workers}-{k}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "visionhub",
                    "worker",
                    "--server",
                    url,
                    "--token",
                    token,
                    "--deployment",
                    deployment,
                    "--name",
                    f"bench-{workers}-{k}",
                    "--cache-dir",
                    str(tmp / f"cache-{workers}-{k}"),
                    "--batch",
                    "64",
                    "--concurrency",
                    "8",
                    "--threads",
                    "1",
                    "--claim-wait",
                    "5",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        deadline = time.monotonic() + 60
        while len(check(owner.get(f"/deployments/{deployment}/stats"))["live_workers"]) < workers:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start")
            time.sleep(0.1)
        started = time.perf_counter()
        submit(owner, deployment, image_ids)
        wait_done(owner, deployment, len(image_ids))
        return len(image_ids) / (time.perf_counter() - started)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def timed(label: str, run: Callable[[], float]) -> float:
    value = run()
    print(f"  {label:<44} {value:>10,.0f} /s", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "VISIONHUB_BENCH_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/visionhub_bench_queue",
        ),
    )
    args = parser.parse_args()
    n = args.requests
    fresh_database(args.database_url)
    tmp = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONHUB_")}
    env.update(
        VISIONHUB_HOME=str(tmp / "home"),
        VISIONHUB_DATABASE_URL=args.database_url,
        VISIONHUB_SECRET_KEY=secrets.token_urlsafe(40),
        VISIONHUB_LOG_LEVEL="WARNING",
        # Persistent connections, as a production deployment on PostgreSQL would configure:
        # otherwise every API call pays for a new PostgreSQL backend.
        VISIONHUB_DB_CONN_MAX_AGE="60",
    )
    visionhub(env, "migrate")
    # The raw measurement imports the claim SQL from visionhub.inference.queue (needs Django).
    os.environ.update(env, DJANGO_SETTINGS_MODULE="visionhub.settings")
    import django

    django.setup()
    owner_token = make_token(env, "bench-owner")
    worker_token = make_token(env, "bench-worker", "--worker")
    server = Server(env, tmp / "server.log")
    try:
        with api(owner_token, server.url) as owner:
            print(f"queue benchmark: PostgreSQL, {n} requests per run, {os.cpu_count()} cores")
            image_ids = dataset(owner, n)
            print("raw SQL limit (one psycopg connection, no HTTP):")
            raw_1 = timed(
                "1 job per claim transaction",
                lambda: raw_sql_limit(args.database_url, deploy(owner), n, 1),
            )
            raw_64 = timed(
                "64 jobs per claim transaction",
                lambda: raw_sql_limit(args.database_url, deploy(owner), n * 5, 64),
            )
            print("through the server (visionhub serve, 2 processes):")
            proto = timed(
                "protocol only, 4 threads, claim 64, no inference",
                lambda: protocol_only(server.url, worker_token, owner, image_ids),
            )
            e2e = {
                k: timed(
                    f"end to end, {k} worker process{'es' if k > 1 else ''}",
                    lambda k=k: end_to_end(server.url, worker_token, owner, image_ids, k, tmp, env),
                )  # type: ignore[misc]
                for k in (1, 2, 4)
            }
            best = max(e2e.values())
            print(
                f"the queue through the API: {proto / raw_1:.2f}x the 1-job raw limit, "
                f"{proto / raw_64:.2f}x the 64-job raw limit; "
                f"best end to end {best / raw_1:.2f}x the 1-job raw limit"
            )
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

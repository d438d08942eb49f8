"""Browsing a million images and ten million annotations on PostgreSQL.

Fills a fresh PostgreSQL database with generated rows (``INSERT … SELECT generate_series``, no
image files): one dataset of ``--images`` images (default 1,000,000; the last 10% without
annotations, every 50th flagged), 80 categories (skewed like COCO's: category 1 common,
category 80 rare), a GT and a Pred label set, and ``--annotations`` annotations (default
10,000,000, ten per annotated image, 70% GT with conf 1, 30% Pred with random conf). Then it
times what a browsing client asks, three ways side by side:

- **raw SQL**: the exact SQL the service builds, run by psycopg alone (the database's own cost);
- **service**: ``services.images.browse`` + ``paginate`` (or ``dataset_stats``) in process;
- **HTTP**: the real endpoint of a running ``visionhub serve``, token and JSON included.

The gallery page of the web UI (``/datasets/<id>/``, 60 thumbnails, a session signed in through
the login form) is timed the same way: its page query alone (raw SQL), the view rendered in
process (Django's test client: access checks, filters, template), and over HTTP; with the
number of queries the view makes, which must not change from page to page.

Each figure is the median of ``--repeat`` runs after one warm-up. ``--explain`` prints every
query plan (``EXPLAIN (ANALYZE, BUFFERS)``). Target (issue 3): tens of milliseconds each.
Usage::

    .venv/bin/python benchmarks/bench_browse.py [--images 1000000] [--annotations 10000000]
        [--explain] [--reuse] [--database-url postgres://…/visionhub_bench_browse]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

CATEGORIES = 80


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def visionhub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "visionhub", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"visionhub {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def has_data(url: str) -> bool:
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM datasets_dataset WHERE name = 'browse'")
            return bool(row.fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return False


def fresh_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = parts.path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def step(label: str, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    print(f"  {label} …", end="", flush=True)
    action()
    print(f" {time.perf_counter() - started:.0f} s", flush=True)


def fill(url: str, owner: int, images: int, annotations: int) -> None:
    """The generated rows, loaded with the annotation indexes dropped and rebuilt after."""
    annotated = images * 9 // 10
    per_image = max(1, annotations // annotated)
    with psycopg.connect(url, autocommit=True) as conn:
        run = conn.execute
        dataset = run(
            "INSERT INTO datasets_dataset (owner_id, name, display_name, description, visibility,"
            " img_width, img_height, maintain_ratio, type, status, detail_status, object_types,"
            ' "group", details, compressed, lightweight, num_images, next_idx, created_at,'
            " updated_at) VALUES (%s, 'browse', '', '', 'private', 0, 0, false, 'bench', 'ready',"
            " '{}', '[\"detection\"]', '', '{}', false, false, %s, %s, now(), now()) RETURNING id",
            [owner, images, images],
        ).fetchone()[0]  # type: ignore[index]
        run(
            "INSERT INTO datasets_category (dataset_id, name, supercategory, keypoint_names,"
            " keypoint_skeleton, keypoint_colors, source_id, created_at)"
            " SELECT %s, 'class-' || c, '', '[]', '[]', '[]', c, now()"
            " FROM generate_series(1, %s) c",
            [dataset, CATEGORIES],
        )
        run(
            "INSERT INTO datasets_labelset (dataset_id, name, kind, compare_precisions, created_at)"
            " VALUES (%s, 'gt', 'GT', '[]', now()), (%s, 'pred', 'Pred', '[]', now())",
            [dataset, dataset],
        )
        step(
            f"{images:,} images",
            lambda: run(
                "INSERT INTO datasets_image (dataset_id, idx, sha256, size, width, height, format,"
                " thumbnail_sha256, filename, source_id, metadata, flag, flag_ts, compare_counts,"
                " label_confirm, created_at, annotated)"
                " SELECT %s, g, md5(g::text) || md5((-g)::text), 100000, 640, 480, 'JPEG',"
                " md5((g + 1)::text) || md5((-g - 1)::text), lpad(g::text, 12, '0') || '.jpg', g,"
                " '{}', CASE WHEN g %% 50 = 0 THEN 1 ELSE 0 END, NULL, '{}', '{}', now(), g < %s"
                " FROM generate_series(0, %s - 1) g",
                [dataset, -(-annotations // per_image), images],
            ),
        )
        run("ANALYZE datasets_image")
        indexes = run(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'datasets_annotation'"
            " AND indexname NOT LIKE '%%pkey'"
        ).fetchall()
        for name, _ in indexes:
            run(f'DROP INDEX "{name}"')
        first_image, first_category, gt, pred = run(
            "SELECT (SELECT min(id) FROM datasets_image WHERE dataset_id = %s),"
            " (SELECT min(id) FROM datasets_category WHERE dataset_id = %s),"
            " (SELECT id FROM datasets_labelset WHERE dataset_id = %s AND name = 'gt'),"
            " (SELECT id FROM datasets_labelset WHERE dataset_id = %s AND name = 'pred')",
            [dataset, dataset, dataset, dataset],
        ).fetchone()  # type: ignore[misc]
        step(
            f"{annotations:,} annotations",
            lambda: run(
                "INSERT INTO datasets_annotation (image_id, label_set_id, category_id, conf,"
                " is_group, bbox_x, bbox_y, bbox_w, bbox_h, area, segmentation, alpha_sha256,"
                " keypoints, caption, confirm_type, compare_result, matched_gt_id)"
                " SELECT %s + g / %s,"
                " CASE WHEN g %% 10 < 7 THEN %s ELSE %s END,"
                " %s + floor(%s * power(random(), 3))::int,"
                " CASE WHEN g %% 10 < 7 THEN 1.0 ELSE random() END,"
                " false, 10, 20, 100, 50, 5000, NULL, '', NULL, '', 0, NULL, NULL"
                " FROM generate_series(0, %s - 1) g",
                [first_image, per_image, gt, pred, first_category, CATEGORIES, annotations],
            ),
        )
        for name, definition in indexes:

            def build(definition: str = definition) -> None:
                run(definition)

            step(f"index {name}", build)
        step("analyze", lambda: run("VACUUM ANALYZE datasets_annotation"))
        run(
            "INSERT INTO datasets_annotationcount (label_set_id, category_key, num_annotations)"
            " SELECT label_set_id, coalesce(category_id, 0), count(*) FROM datasets_annotation"
            " WHERE label_set_id IN (%s, %s) GROUP BY 1, 2",
            [gt, pred],
        )


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--annotations", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="Keep a database filled before.")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/visionhub_bench_browse"
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="vh-bench-browse-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONHUB_")}
    env.update(
        VISIONHUB_HOME=str(home),
        VISIONHUB_DATABASE_URL=args.database_url,
        VISIONHUB_LOG_LEVEL="WARNING",
        # Persistent connections, as a production PostgreSQL deployment runs.
        VISIONHUB_DB_CONN_MAX_AGE="60",
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        if not (args.reuse and has_data(args.database_url)):
            print(f"filling {args.database_url}:")
            fresh_database(args.database_url)
            visionhub(env, "migrate")
            visionhub(env, "user", "create", "bench")
            with psycopg.connect(args.database_url) as conn:
                owner = conn.execute(
                    "SELECT id FROM accounts_user WHERE username = 'bench'"
                ).fetchone()[0]  # type: ignore[index]
            fill(args.database_url, owner, args.images, args.annotations)
        token = visionhub(env, "token", "create", "bench").strip().splitlines()[-1]
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "visionhub", "serve", "--port", str(port), "--workers", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "visionhub.settings"
        import django

        django.setup()
        measure(args, f"http://127.0.0.1:{port}/api/v1", token)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(home, ignore_errors=True)


def measure(args: argparse.Namespace, api: str, token: str) -> None:
    from django.db import connection

    from visionhub.core.pagination import paginate
    from visionhub.datasets.models import Category, Dataset, Image, LabelSet
    from visionhub.datasets.services.images import ImageFilter, browse
    from visionhub.datasets.services.stats import dataset_stats

    dataset = Dataset.objects.get(name="browse")
    n_images = dataset.num_images
    category = {c.source_id: c.pk for c in Category.objects.filter(dataset=dataset)}
    pred = LabelSet.objects.get(dataset=dataset, name="pred").pk
    middle = n_images // 2
    cursor = paginate(
        browse(dataset, ImageFilter(from_idx=middle)), order_by=("idx",), limit=100
    ).next_cursor
    cases: list[tuple[str, dict[str, Any]]] = [
        ("first page", {}),
        (f"page at idx {middle:,}", {"from_idx": middle}),
        ("next page (cursor)", {"from_idx": middle, "cursor": cursor}),
        ("last page", {"from_idx": n_images - 50}),
        ("flagged", {"flag": 1}),
        ("category 1 (common)", {"category": category[1]}),
        ("category 40", {"category": category[40]}),
        ("category 80 (rarest)", {"category": category[80]}),
        ("category 40, middle", {"category": category[40], "from_idx": middle}),
        ("pred, conf >= 0.9", {"label_set": pred, "min_conf": 0.9}),
        ("conf 0.4-0.5", {"min_conf": 0.4, "max_conf": 0.5}),
        ("pred, conf >= 0.999", {"label_set": pred, "min_conf": 0.999}),
        ("with annotations", {"has_annotations": True}),
        ("without annotations", {"has_annotations": False}),
    ]
    http = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        try:
            if http.get("/health").status_code == 200:
                break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    annotations = connection.cursor()
    annotations.execute("SELECT count(*) FROM datasets_annotation")
    total = annotations.fetchone()[0]
    print(
        f"\n{n_images:,} images, {total:,} annotations; median of {args.repeat} runs (ms), "
        "100 images per page"
    )
    print(f"{'query':<26} {'raw SQL':>9} {'service':>9} {'HTTP':>9}  rows")
    for label, params in cases:
        cursor_value = params.pop("cursor", None)
        chosen = browse(dataset, ImageFilter(**params))
        page = paginate(chosen, order_by=("idx",), cursor=cursor_value, limit=100)
        sql, sql_params = chosen.order_by("idx")[:101].query.sql_with_params()

        def raw(sql: str = sql, sql_params: Any = sql_params) -> None:
            with connection.cursor() as c:
                c.execute(sql, sql_params)
                c.fetchall()

        def service(chosen: Any = chosen, cursor_value: Any = cursor_value) -> None:
            paginate(chosen, order_by=("idx",), cursor=cursor_value, limit=100)

        query = {**params, "limit": 100}
        if cursor_value:
            query["cursor"] = cursor_value

        def over_http(query: dict[str, Any] = query) -> None:
            response = http.get(f"/datasets/{dataset.pk}/images", params=query)
            response.raise_for_status()

        print(
            f"{label:<26} {median_ms(raw, args.repeat):>9.1f} "
            f"{median_ms(service, args.repeat):>9.1f} {median_ms(over_http, args.repeat):>9.1f}"
            f"  {len(page.items)}",
            flush=True,
        )
        if args.explain:
            print(chosen.order_by("idx")[:101].explain(analyze=True, buffers=True), "\n")
    stats_sql = "SELECT * FROM datasets_annotationcount WHERE label_set_id IN (SELECT id FROM datasets_labelset WHERE dataset_id = %s)"

    def raw_stats() -> None:
        with connection.cursor() as c:
            c.execute(stats_sql, [dataset.pk])
            c.fetchall()

    def over_http_stats() -> None:
        http.get(f"/datasets/{dataset.pk}/stats").raise_for_status()

    print(
        f"{'dataset stats':<26} {median_ms(raw_stats, args.repeat):>9.1f} "
        f"{median_ms(lambda: dataset_stats(dataset), args.repeat):>9.1f} "
        f"{median_ms(over_http_stats, args.repeat):>9.1f}"
    )
    started = time.perf_counter()
    with connection.cursor() as c:
        c.execute(
            "SELECT label_set_id, category_id, count(*) FROM datasets_annotation a"
            " JOIN datasets_labelset l ON l.id = a.label_set_id WHERE l.dataset_id = %s"
            " GROUP BY 1, 2",
            [dataset.pk],
        )
        c.fetchall()
    print(
        f"{'(stats by GROUP BY)':<26} {(time.perf_counter() - started) * 1000:>9.0f}"
        "  — what the counters save on every request"
    )
    measure_gallery(args, api, dataset, category, pred, middle)
    image = Image.objects.filter(dataset=dataset, idx=middle).get()
    print(
        f"{'one image':<26} {'':>9} {'':>9} "
        f"{median_ms(lambda: http.get(f'/images/{image.pk}').raise_for_status(), args.repeat):>9.1f}"
    )


def measure_gallery(
    args: argparse.Namespace,
    api: str,
    dataset: Any,
    category: dict[int, int],
    pred: int,
    middle: int,
) -> None:
    import re

    from django.db import connection
    from django.test import Client

    from visionhub.datasets.services.images import ImageFilter, browse
    from visionhub.web.views.gallery import PAGE_SIZE

    owner = dataset.owner
    owner.set_password("bench-password")
    owner.save(update_fields=["password"])
    in_process = Client()
    in_process.force_login(owner)
    site = httpx.Client(base_url=api.removesuffix("/api/v1"), timeout=120)
    form = site.get("/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token is not None
    signed = site.post(
        "/login/",
        data={"username": owner.username, "password": "bench-password",
              "csrfmiddlewaretoken": token[1]},
    )  # fmt: skip
    assert signed.status_code == 302, signed.text[:300]
    cases = [
        ("first page", {}, ""),
        (f"position {middle:,}", {"from_idx": middle}, f"position={middle}"),
        ("last page", {"from_idx": dataset.num_images - 30}, f"position={dataset.num_images - 30}"),
        ("category 40", {"category": category[40]}, f"category={category[40]}"),
        (
            "category 40, middle",
            {"category": category[40], "from_idx": middle},
            f"category={category[40]}&position={middle}",
        ),
        ("pred, conf >= 0.9", {"label_set": pred, "min_conf": 0.9},
         f"label_set={pred}&min_conf=0.9"),
        ("flagged", {"flag": 1}, "flag=1"),
        ("without annotations", {"has_annotations": False}, "annotated=no"),
    ]  # fmt: skip
    print(
        f"\nthe gallery page ({PAGE_SIZE} thumbnails, signed-in session); median of "
        f"{args.repeat} runs (ms)"
    )
    print(f"{'gallery':<26} {'raw SQL':>9} {'view':>9} {'HTTP':>9}  queries")
    for label, params, query in cases:
        chosen = browse(dataset, ImageFilter(**params))
        sql, sql_params = chosen.order_by("idx")[: PAGE_SIZE + 1].query.sql_with_params()
        url = f"/datasets/{dataset.pk}/" + (f"?{query}" if query else "")

        def raw(sql: str = sql, sql_params: Any = sql_params) -> None:
            with connection.cursor() as c:
                c.execute(sql, sql_params)
                c.fetchall()

        def view(url: str = url) -> None:
            response = in_process.get(url)
            assert response.status_code == 200, response.status_code

        def over_http(url: str = url) -> None:
            site.get(url).raise_for_status()

        statements: list[str] = []

        def record(execute: Any, sql: str, *rest: Any, into: list[str] = statements) -> Any:
            into.append(sql)
            return execute(sql, *rest)

        with connection.execute_wrapper(record):
            view()
        print(
            f"{label:<26} {median_ms(raw, args.repeat):>9.1f} {median_ms(view, args.repeat):>9.1f}"
            f" {median_ms(over_http, args.repeat):>9.1f}  {len(statements)}",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Filtering 100,000 benchmark results on a json value, on PostgreSQL.

Creates a throw-away database, bulk-inserts results made from the 20 real c-ray results of
EOSC-Performance (cpu count, score and vendor varied; 0.1 % have a rare cpu count of 64), starts a
real ``visionhub serve`` on it, and times the same queries three ways, side by side:

* ``api``: ``GET /api/v1/benchmark-results?…&limit=100`` over HTTP (keep-alive): the whole
  product path (auth, parsing, the query, the tags prefetch, JSON rendering);
* ``orm``: ``filter_results`` + ``page_results`` in this process (the query and model loading);
* ``raw sql``: the same query written by hand, run on a plain cursor: the database floor.

It runs the queries once with the schema's indexes only (the newest-first partial index, the
sort indexes on names and execution time, and the GIN ``jsonb_path_ops`` index), then again
after adding the expression indexes that docs/benchmarks.md recommends for hot paths, and
prints the EXPLAIN ANALYZE of every ORM query (first page, and for the sorts by several keys a
page 50,000 results deep, read after the cursor of the page before).

    .venv/bin/python benchmarks/bench_result_filter.py [--rows 100000] [--keep] [--reuse] [--plans-only]
        [--database-url postgres://postgres@127.0.0.1:5432/visionhub_bench_results]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests/benchmarks/data/eosc-perf-c-ray"
REPEAT = 15
BATCH = 5000


def number(path: str, column: str = "r.json") -> str:
    """The SQL that ``jsonsql.json_number`` compiles to (what an expression index must repeat)."""
    return (
        f"CASE WHEN jsonb_typeof({column} #> '{{{path}}}') = 'number' "
        f"THEN CAST({column} #>> '{{{path}}}' AS NUMERIC) END"
    )


def string(path: str, column: str = "r.json") -> str:
    return (
        f"CASE WHEN jsonb_typeof({column} #> '{{{path}}}') = 'string' "
        f"THEN ({column} #>> '{{{path}}}') COLLATE \"C\" END"
    )


def kind(path: str, column: str = "r.json") -> str:
    return (
        f"CASE WHEN jsonb_typeof({column} #> '{{{path}}}') = 'number' THEN 0 "
        f"WHEN jsonb_typeof({column} #> '{{{path}}}') = 'string' THEN 1 ELSE 2 END"
    )


def sort_order(path: str, column: str = "r.json", way: str = "") -> str:
    """The sort key of ``page_results`` (``way`` " DESC" for descending, after the kind)."""
    return (
        f"({kind(path, column)}), (COALESCE({number(path, column)}, 0)){way}, "
        f"(COALESCE({string(path, column)}, '')){way}, {column.replace('json', 'id')}{way}"
    )


# The hand-written reference of each query: same conditions, same order, same LIMIT.
RAW_SELECT = """
SELECT r.id, r.json, r.execution_datetime, r.upload_datetime
FROM benchmarks_benchmarkresult r
WHERE r.benchmark_id = %(benchmark)s AND NOT r.deleted AND NOT r.claimed AND {condition}
ORDER BY {order}
LIMIT 101
"""
NEWEST = "r.upload_datetime DESC, r.id DESC"
COUNT, SCORE = "machine,cpu,count", "result,score"
TABLE = "benchmarks_benchmarkresult"

# The expression indexes docs/benchmarks.md recommends for hot paths: one for a filter path, one
# for a sort path (it serves both directions: pages are read one kind at a time).
HOT_PATH_INDEXES = {
    "result_json_cpu_count": f"CREATE INDEX result_json_cpu_count ON {TABLE} (({number(COUNT, 'json')}))",
    "result_sort_score": f"CREATE INDEX result_sort_score ON {TABLE} ({sort_order(SCORE, 'json')})",
}


@dataclass(frozen=True)
class Case:
    label: str
    params: dict[str, Any]
    raw_condition: str
    raw_order: str = NEWEST
    hot: bool = False  # run again with the hot-path indexes
    deep: bool = False  # also explain the page 50,000 results deep


def contains(document: dict[str, Any]) -> str:
    return "r.json @> '" + json.dumps(document) + "'::jsonb"


RARE = {"machine": {"cpu": {"count": 64}}}
AVX512 = {"machine": {"cpu": {"flags": ["avx512f"]}}}
CASES = [
    Case(
        "filters=machine.cpu.count >= 4 (83 %)",
        {"filters": ["machine.cpu.count >= 4"]},
        f"{number(COUNT)} >= 4",
    ),
    Case(
        "filters=result.score < 30 (1.5 %)",
        {"filters": ["result.score < 30"]},
        f"{number(SCORE)} < 30",
    ),
    Case(
        "filters=machine.cpu.vendor_id_raw == GenuineIntel (65 %)",
        {"filters": ["machine.cpu.vendor_id_raw == GenuineIntel"]},
        f"{string('machine,cpu,vendor_id_raw')} = 'GenuineIntel'",
    ),
    Case(
        "filters=machine.cpu.count == 32 (17 %)",
        {"filters": ["machine.cpu.count == 32"]},
        f"{number(COUNT)} = 32",
        hot=True,
    ),
    Case(
        "filters=machine.cpu.count == 64 (0.1 %)",
        {"filters": ["machine.cpu.count == 64"]},
        f"{number(COUNT)} = 64",
        hot=True,
    ),
    Case(
        "contains={cpu: {count: 64}} (0.1 %, GIN)", {"contains": json.dumps(RARE)}, contains(RARE)
    ),
    Case(
        "contains={cpu: {flags: [avx512f]}} (20 %, GIN)",
        {"contains": json.dumps(AVX512)},
        contains(AVX512),
    ),
    # page_results reads the numbers first (kind 0), in (number, string, id) order.
    Case(
        "sort_by=result.score",
        {"sort_by": "result.score"},
        f"({kind(SCORE)}) = 0",
        sort_order(SCORE).split(", ", 1)[1],
        hot=True,
    ),
    Case(
        "sort_by=-result.score",
        {"sort_by": "-result.score"},
        f"({kind(SCORE)}) = 0",
        sort_order(SCORE, way=" DESC").split(", ", 1)[1],
        hot=True,
    ),
    # Named keys (sorting.page_sorted): each walks its partial index on the visible results.
    Case(
        "sort_by=+site_name,+flavor_name",
        {"sort_by": "+site_name,+flavor_name"},
        "TRUE",
        'r.site_name COLLATE "C", r.flavor_name COLLATE "C", r.id',
        deep=True,
    ),
    Case(
        "sort_by=-site_name,-flavor_name",
        {"sort_by": "-site_name,-flavor_name"},
        "TRUE",
        'r.site_name COLLATE "C" DESC, r.flavor_name COLLATE "C" DESC, r.id DESC',
        deep=True,
    ),
    Case(
        "sort_by=execution_datetime",
        {"sort_by": "execution_datetime"},
        "TRUE",
        "r.execution_datetime, r.id",
    ),
    Case(
        "sort_by=-benchmark_name",
        {"sort_by": "-benchmark_name"},
        "TRUE",
        'r.benchmark_name COLLATE "C" DESC, r.id DESC',
    ),
    Case(
        "sort_by=+site_name,-execution_datetime (mixed)",
        {"sort_by": "+site_name,-execution_datetime"},
        "TRUE",
        'r.site_name COLLATE "C", r.execution_datetime DESC, r.id DESC',
        deep=True,
    ),
    Case(
        "terms=ifca-lcg2 (a site's name, 1/11)",
        {"terms": ["ifca-lcg2"]},
        # (%% is a literal % in the driver's parameter syntax)
        "(upper(r.site_name) LIKE '%%IFCA-LCG2%%' OR upper(r.benchmark_name) LIKE '%%IFCA-LCG2%%' "
        "OR upper(r.flavor_name) LIKE '%%IFCA-LCG2%%')",
    ),
    Case(
        "upload_after=<the newest 10 %>",
        {"upload_after": "2021-03-01T10:40:00+00:00"},
        "r.upload_datetime >= '2021-03-01T10:40:00+00:00'",
    ),
]


def median_ms(action: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, Any]:
    for _ in range(2):
        action()
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def admin_connection(url: str) -> Any:
    import psycopg

    return psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def machine_flavors() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DATA / "machine-flavors.txt").read_text().splitlines():
        match = re.match(r"^([a-z0-9-]+)\s+(\d.*)$", line)
        if match:
            out[match[1]] = [name for _, name in re.findall(r"(\d+) +([^\s<]\S*)", match[2])]
    return out


def seed(rows: int) -> None:
    """An admin, the c-ray benchmark, the sites and flavors, and ``rows`` results (bulk)."""
    from visionhub.accounts import services as accounts
    from visionhub.benchmarks import services
    from visionhub.benchmarks.models import BenchmarkResult

    admin = accounts.create_user("bench-admin", staff=True)
    schema = json.loads((ROOT / "src/visionhub/benchmarks/data/c-ray.schema.json").read_text())
    benchmark = services.create_benchmark(
        admin, docker_image="eosc/c-ray", docker_tag="1.2.0", json_schema=schema
    )
    flavors = []
    for site_name, names in machine_flavors().items():
        site = services.create_site(admin, name=site_name, address="EGI Federated Cloud")
        flavors += [services.create_flavor(admin, site, name=name) for name in names]
    originals = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]
    rng = random.Random(20)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    batch: list[BenchmarkResult] = []
    for i in range(rows):
        document = json.loads(json.dumps(rng.choice(originals)))
        cpus = 64 if rng.random() < 0.001 else rng.choice([1, 2, 4, 8, 16, 32])
        one_core = document["result"]["score"] * document["machine"]["cpu"]["count"]
        document["machine"]["cpu"]["count"] = cpus
        document["result"]["score"] = round(one_core / cpus * rng.uniform(0.85, 1.15), 3)
        flavor = rng.choice(flavors)
        when = start + timedelta(minutes=i)
        batch.append(
            BenchmarkResult(
                json=document,
                execution_datetime=when,
                upload_datetime=when + timedelta(minutes=5),
                benchmark=benchmark,
                flavor=flavor,
                site_id=flavor.site_id,
                uploader=admin,
                benchmark_name=benchmark.name,
                site_name=flavor.site.name,
                flavor_name=flavor.name,
            )
        )
        if len(batch) == BATCH:
            BenchmarkResult.objects.bulk_create(batch)
            batch = []
    BenchmarkResult.objects.bulk_create(batch)


def _cursor_at(qs: Any, sort_by: str, depth: int) -> str | None:
    """The cursor of the page that ends ``depth`` results into the ``sort_by`` order."""
    from visionhub.benchmarks.filters import page_results

    cursor = None
    for _ in range(depth // 1000):
        cursor = page_results(qs, sort_by=sort_by, cursor=cursor, limit=1000).next_cursor
    return cursor


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "visionhub", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/visionhub_bench_results"
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a database kept by --keep.")
    parser.add_argument(
        "--plans-only",
        action="store_true",
        help="Print the EXPLAIN ANALYZE of every ORM query, without a server or timings.",
    )
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONHUB_")}
    env.update(
        DJANGO_SETTINGS_MODULE="visionhub.settings",
        VISIONHUB_HOME=tempfile.mkdtemp(prefix="visionhub-bench-"),
        VISIONHUB_DATABASE_URL=args.database_url,
        VISIONHUB_SECRET_KEY=secrets.token_urlsafe(32),
        VISIONHUB_LOG_LEVEL="WARNING",
        # Persistent connections, as a production PostgreSQL deployment runs.
        VISIONHUB_DB_CONN_MAX_AGE="60",
    )
    os.environ.update(env)
    name = database_name(args.database_url)
    if not args.reuse:
        with admin_connection(args.database_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from visionhub.accounts import services as accounts
    from visionhub.accounts.models import User
    from visionhub.benchmarks import access
    from visionhub.benchmarks.filters import ResultQuery, filter_results, page_results
    from visionhub.benchmarks.models import Benchmark, BenchmarkResult

    call_command("migrate", verbosity=0)
    if not BenchmarkResult.objects.exists():
        started = time.perf_counter()
        seed(args.rows)
        print(f"inserted {args.rows:,} results in {time.perf_counter() - started:.1f} s")
    admin = User.objects.get(username="bench-admin")
    benchmark = Benchmark.objects.get(docker_image="eosc/c-ray")
    token = accounts.issue_token(admin, name="bench").secret
    with connection.cursor() as cursor:
        for index in HOT_PATH_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {index}")
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
        cursor.execute(
            f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{TABLE}')) FROM {TABLE}"
        )
        rows, size = cursor.fetchone()
    print(f"{rows:,} results, {size} with indexes")

    def query(case: Case) -> ResultQuery:
        return ResultQuery(
            benchmark_id=benchmark.pk,
            filters=tuple(case.params.get("filters", ())),
            contains=case.params.get("contains"),
            terms=tuple(case.params.get("terms", ())),
            upload_after=(
                datetime.fromisoformat(case.params["upload_after"])
                if "upload_after" in case.params
                else None
            ),
        )

    def orm(case: Case) -> int:
        qs = access.with_related(filter_results(access.visible_results(admin), query(case)))
        page = page_results(qs, sort_by=case.params.get("sort_by"), cursor=None, limit=100)
        return len(page.items)

    def raw(case: Case) -> int:
        sql = RAW_SELECT.format(condition=case.raw_condition, order=case.raw_order)
        with connection.cursor() as cursor:
            cursor.execute(sql, {"benchmark": benchmark.pk})
            return min(len(cursor.fetchall()), 100)

    def explain(case: Case, deep: bool = False) -> str:
        from visionhub.benchmarks.filters import (
            DEFAULT_ORDER,
            RESULT_SORTS,
            SORT_FIELDS,
            json_sort_key,
            parse_sort,
            sort_keys,
        )
        from visionhub.benchmarks.sorting import order_queryset, parse_sort_by

        qs = filter_results(access.visible_results(admin), query(case))
        sort_by = case.params.get("sort_by")
        keys = parse_sort_by(sort_by, RESULT_SORTS, fallback=json_sort_key) if sort_by else []
        if deep:
            # The query page_results runs for the page after row 50,000: the cursor's filter.
            from django.test.utils import CaptureQueriesContext

            qs_all = filter_results(access.visible_results(admin), query(case))
            deep_cursor = _cursor_at(qs_all, sort_by, 50_000)
            with CaptureQueriesContext(connection) as captured:
                page_results(qs_all, sort_by=sort_by, cursor=deep_cursor, limit=100)
            sql = captured.captured_queries[-1]["sql"]
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                return "\n".join(row[0] for row in cur.fetchall())
        if keys and (len(keys) > 1 or keys[0].path is None):
            ordered, _ = order_queryset(qs, keys)
            return str(ordered[:101].explain(analyze=True, buffers=True))
        if sort_by:
            sort = parse_sort(sort_by)
            way = "-" if sort.descending else ""
            qs = (
                qs.annotate(**sort_keys(sort, float_numbers=False))
                .filter(**{SORT_FIELDS[0]: 0})
                .order_by(*(f"{way}{f}" for f in (*SORT_FIELDS[1:], "id")))
            )
        else:
            qs = qs.order_by(*DEFAULT_ORDER)
        return str(qs[:101].explain(analyze=True, buffers=True))

    if args.plans_only:
        for case in CASES:
            print(f"\n--- EXPLAIN ANALYZE (orm): {case.label} [schema]\n{explain(case)}")
            if case.deep:
                print(
                    f"\n--- EXPLAIN ANALYZE (orm): {case.label}, 50,000 deep\n{explain(case, True)}"
                )
        connection.close()
        return
    server, url = start_server(env)
    figures: list[tuple[str, str, float, float, float, int]] = []
    plans: list[tuple[str, str]] = []
    try:
        with httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:

            def api(case: Case) -> int:
                params = {"benchmark_id": str(benchmark.pk), "limit": 100, **case.params}
                response = http.get("/benchmark-results", params=params)
                response.raise_for_status()
                return len(response.json()["items"])

            def measure(case: Case, indexes: str) -> None:
                api_ms, api_n = median_ms(lambda: api(case))
                orm_ms, orm_n = median_ms(lambda: orm(case))
                raw_ms, raw_n = median_ms(lambda: raw(case))
                assert api_n == orm_n == raw_n, (case.label, api_n, orm_n, raw_n)
                figures.append((case.label, indexes, api_ms, orm_ms, raw_ms, api_n))
                plans.append((f"{case.label} [{indexes}]", explain(case)))
                if case.deep and indexes == "schema":
                    plans.append((f"{case.label}, 50,000 deep [{indexes}]", explain(case, True)))

            for case in CASES:
                measure(case, "schema")
            with connection.cursor() as cursor:
                for ddl in HOT_PATH_INDEXES.values():
                    cursor.execute(ddl)
                cursor.execute(f"ANALYZE {TABLE}")
            for case in CASES:
                if case.hot:
                    measure(case, "+ hot-path")
    finally:
        server.terminate()
        server.wait(timeout=15)
        connection.close()
        if not args.keep:
            with admin_connection(args.database_url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"\n{rows:,} results on PostgreSQL: first page of 100, median of {REPEAT} runs, in ms\n")
    print("| query | indexes | api (HTTP) | orm | raw sql | rows |")
    print("|---|---|---:|---:|---:|---:|")
    for label, indexes, api_ms, orm_ms, raw_ms, n in figures:
        print(f"| `{label}` | {indexes} | {api_ms:.1f} | {orm_ms:.1f} | {raw_ms:.1f} | {n} |")
    print("\nhot-path indexes:\n" + ";\n".join(HOT_PATH_INDEXES.values()) + ";")
    for label, plan in plans:
        print(f"\n--- EXPLAIN ANALYZE (orm): {label}\n{plan}")


if __name__ == "__main__":
    main()

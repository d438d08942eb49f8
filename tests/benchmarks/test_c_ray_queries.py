"""Queries on the 20 real c-ray results: every json filter operator on numbers and strings,
tags, dates, uploader, sorting and keyset pagination, each checked against the subset computed
here from the files."""

from __future__ import annotations

import csv
import io
import itertools
import json
import operator
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from tests.benchmarks.conftest import (
    FIRST_RUN,
    World,
    build_c_ray_world,
    c_ray_results,
    execution_of,
    site_and_count,
    tags_for,
)
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


@pytest.fixture(scope="module")
def world(admin: Person, bob: Person) -> World:
    return build_c_ray_world(admin, uploader=bob)


def value_at(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def expected(path: str, op: str, value: Any) -> set[str]:
    """The stems whose value at ``path`` has ``value``'s JSON type and satisfies ``op``."""
    numeric = isinstance(value, int | float | Decimal)
    out = set()
    for stem, document in c_ray_results().items():
        found = value_at(document, path)
        if numeric and isinstance(found, int | float) and not isinstance(found, bool):
            if OPS[op](Decimal(str(found)), Decimal(str(value))):
                out.add(stem)
        elif not numeric and isinstance(found, str) and OPS[op](found, value):
            out.add(stem)
    return out


def query(person: Person, world: World, **params: Any) -> list[dict[str, Any]]:
    params = {"benchmark_id": world.benchmark["id"], **params}
    return list(person.client.list_results(**params))


def stems(person: Person, world: World, **params: Any) -> set[str]:
    return world.stems([item["id"] for item in query(person, world, **params)])


def test_all_twenty_results_are_stored_with_site_flavor_and_tags(
    world: World, charlie: Person
) -> None:
    items = query(charlie, world)
    assert len(items) == 20
    by_stem = {stem: item for item in items for stem in world.stems([item["id"]])}
    for stem, document in c_ray_results().items():
        item = by_stem[stem]
        site, count = site_and_count(stem)
        assert item["json"] == document
        assert item["site_id"] == world.sites[site]["id"]
        assert item["flavor_id"] == world.flavors[(site, count)]["id"]
        assert item["site_name"] == world.site_names[site]
        assert sorted(item["tags_names"]) == sorted(tags_for(document))
        assert item["benchmark_name"] == world.benchmark["name"]
        assert item["execution_datetime"].startswith(execution_of(stem).date().isoformat())


NUMBER_CASES = [
    ("machine.cpu.count", 4),
    ("machine.cpu.count", 8),
    ("result.score", 256.711),
    ("result.score", 500),
    ("machine.cpu.l3_cache_size", 16777216),
    ("machine.cpu.hz_actual.0", 2600000000),
    ("machine.cpu.family", 23),
]


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize(("path", "value"), NUMBER_CASES)
def test_every_operator_compares_numbers_as_numbers(
    world: World, charlie: Person, path: str, op: str, value: Any
) -> None:
    want = expected(path, op, value)
    assert stems(charlie, world, filters=[f"{path} {op} {value}"]) == want


STRING_CASES = [
    ("machine.cpu.vendor_id_raw", "GenuineIntel"),
    ("machine.cpu.brand_raw", "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz"),
    ("machine.cpu.brand_raw", "AMD EPYC Processor (with IBPB)"),
    ("machine.cpu.hz_actual_friendly", "2.6000 GHz"),
    ("units", "Seconds"),
]


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize(("path", "value"), STRING_CASES)
def test_every_operator_compares_strings_as_strings(
    world: World, charlie: Person, path: str, op: str, value: str
) -> None:
    want = expected(path, op, value)
    assert stems(charlie, world, filters=[f"{path} {op} {value}"]) == want


def test_the_operator_cases_are_not_trivial() -> None:
    # Each operator splits the data: guards against a filter that silently matches all/none.
    assert 0 < len(expected("machine.cpu.count", ">=", 4)) < 20
    assert expected("machine.cpu.count", ">=", 4) != expected("machine.cpu.count", "==", 4)
    assert 0 < len(expected("machine.cpu.brand_raw", "<", "Intel")) < 20


@pytest.mark.parametrize("op", list(OPS))
def test_a_path_with_numbers_and_strings_matches_only_values_of_the_filters_type(
    world: World, charlie: Person, op: str
) -> None:
    # l1_data_cache_size is 32768 in one file and "32 KiB"-like text in the others.
    path = "machine.cpu.l1_data_cache_size"
    assert stems(charlie, world, filters=[f"{path} {op} 32768"]) == expected(path, op, 32768)
    assert stems(charlie, world, filters=[f"{path} {op} '64 KiB'"]) == expected(path, op, "64 KiB")


def test_a_quoted_number_compares_as_a_string(world: World, charlie: Person) -> None:
    assert stems(charlie, world, filters=['machine.cpu.count >= "4"']) == set()
    assert stems(charlie, world, filters=["machine.cpu.cpuinfo_version_string == '7.0.0'"]) == set(
        c_ray_results()
    )


def test_filters_combine_with_and_and_with_site_and_flavor(world: World, charlie: Person) -> None:
    both = ["machine.cpu.count >= 4", "machine.cpu.vendor_id_raw == GenuineIntel"]
    want = expected(*("machine.cpu.count", ">=", 4)) & expected(
        "machine.cpu.vendor_id_raw", "==", "GenuineIntel"
    )
    assert stems(charlie, world, filters=both) == want
    site = world.sites["ncg-ingrid-pt"]["id"]
    assert stems(charlie, world, site_id=site, filters=["result.score < 200"]) == {
        "ncg-ingrid-pt-8",
        "ncg-ingrid-pt-16",
        "ncg-ingrid-pt-32",
    }
    flavor = world.flavors[("cesnet-mcc", 4)]["id"]
    assert stems(charlie, world, flavor_id=flavor) == {"cesnet-mcc-4"}


def test_a_missing_path_matches_nothing(world: World, charlie: Person) -> None:
    assert stems(charlie, world, filters=["machine.gpu.count >= 0"]) == set()
    assert stems(charlie, world, filters=["machine.cpu.flags.500 == x"]) == set()


def test_tags_all_of_and_any_of(world: World, charlie: Person) -> None:
    tagged = {stem: set(tags_for(doc)) for stem, doc in c_ray_results().items()}
    amd_many = {s for s, t in tagged.items() if {"amd", "many-cores"} <= t}
    assert stems(charlie, world, tags_all=["amd", "many-cores"]) == amd_many
    assert stems(charlie, world, tags_any=["amd", "many-cores"]) == {
        s for s, t in tagged.items() if t & {"amd", "many-cores"}
    }
    assert stems(charlie, world, tags_all=["amd", "no-such-tag"]) == set()
    assert stems(charlie, world, tags_any=["no-such-tag"]) == set()


def test_execution_date_range(world: World, charlie: Person) -> None:
    after, before = FIRST_RUN + timedelta(days=3), FIRST_RUN + timedelta(days=7)
    want = {s for s in c_ray_results() if after <= execution_of(s) < before}
    assert len(want) == 4
    got = stems(
        charlie, world, execution_after=after.isoformat(), execution_before=before.isoformat()
    )
    assert got == want


def test_uploader_by_username_and_by_oidc_identity(
    world: World,
    bob: Person,
    admin: Person,
    charlie: Person,
    committed: Callable[[], AbstractContextManager[None]],
) -> None:
    from visionhub.accounts.models import Identity

    assert stems(bob, world, uploader=bob.username) == set(c_ray_results())
    assert stems(admin, world, uploader=bob.username) == set(c_ray_results())
    assert stems(admin, world, uploader=admin.username) == set()
    with committed():
        Identity.objects.get_or_create(
            issuer="https://aai.example.org", subject=f"sub-{bob.user_id}", user_id=bob.user_id
        )
    for person in (bob, admin):
        by_identity = stems(
            person,
            world,
            uploader_iss="https://aai.example.org",
            uploader_sub=f"sub-{bob.user_id}",
        )
        assert by_identity == set(c_ray_results())
    assert stems(admin, world, uploader_iss="https://aai.example.org", uploader_sub="x") == set()
    response = admin.http.get("/benchmark-results", params={"uploader_iss": "x"})
    assert_error(response, 422, "invalid_query")


def test_only_admins_filter_by_another_users_uploads(
    world: World, bob: Person, charlie: Person
) -> None:
    """Uploaders are private (the original shows them to admins only): charlie may not ask
    which results bob uploaded, by name or by identity."""
    params = {"benchmark_id": world.benchmark["id"]}
    for by in (
        {"uploader": bob.username},
        {"uploader_iss": "https://aai.example.org", "uploader_sub": f"sub-{bob.user_id}"},
    ):
        response = charlie.http.get("/benchmark-results", params={**params, **by})
        assert_error(response, 403, "admin_only")
    assert stems(charlie, world, uploader=charlie.username) == set()


def contained(needle: Any, haystack: Any) -> bool:
    """PostgreSQL's ``@>`` for objects, scalars and arrays of scalars, written for the test."""
    if isinstance(needle, dict):
        return isinstance(haystack, dict) and all(
            key in haystack and contained(value, haystack[key]) for key, value in needle.items()
        )
    if isinstance(needle, list):
        return isinstance(haystack, list) and all(
            any(contained(item, other) for other in haystack) for item in needle
        )
    if isinstance(needle, bool) or needle is None or isinstance(haystack, bool):
        return needle is haystack
    if isinstance(needle, int | float):
        return isinstance(haystack, int | float) and Decimal(str(needle)) == Decimal(str(haystack))
    return needle == haystack


CONTAINS_CASES = [
    {"machine": {"cpu": {"flags": ["avx512f"]}}},
    {"machine": {"cpu": {"flags": ["avx2", "aes"], "vendor_id_raw": "AuthenticAMD"}}},
    {"machine": {"cpu": {"count": 8}}},
    {"machine": {"cpu": {"count": 8.0, "bits": 64}}},
    {"machine": {"cpu": {"count": "8"}}},
    {"machine": {"cpu": {"hz_actual": [0]}}},
    {"result": {}},
    {"machine": {"cpu": {"flags": "avx"}}},
    {"units": "Seconds", "test": "pts/c-ray-1.2.0"},
    {"nothing": None},
]


@pytest.mark.parametrize("needle", CONTAINS_CASES)
def test_contains_is_json_containment(world: World, charlie: Person, needle: Any) -> None:
    want = {stem for stem, doc in c_ray_results().items() if contained(needle, doc)}
    got = stems(charlie, world, contains=json.dumps(needle))
    assert got == want


def test_contains_cases_are_not_trivial() -> None:
    sizes = [
        sum(contained(needle, doc) for doc in c_ray_results().values()) for needle in CONTAINS_CASES
    ]
    assert sizes[:4] == [sizes[0], sizes[1], 4, 4] and 0 < sizes[0] < 20 and 0 < sizes[1] < 20
    assert sizes[4] == 0 and sizes[6] == 20 and sizes[7] == 0 and sizes[9] == 0


def test_contains_combines_with_filters(world: World, charlie: Person) -> None:
    got = stems(
        charlie,
        world,
        contains='{"machine": {"cpu": {"vendor_id_raw": "GenuineIntel"}}}',
        filters=["result.score < 200"],
    )
    want = expected("result.score", "<", 200) & expected(
        "machine.cpu.vendor_id_raw", "==", "GenuineIntel"
    )
    assert got == want and want


def test_a_bad_contains_is_422(charlie: Person) -> None:
    response = charlie.http.get("/benchmark-results", params={"contains": "[1]"})
    assert_error(response, 422, "invalid_contains")


def all_pages(person: Person, params: dict[str, Any], limit: int) -> Iterator[list[dict[str, Any]]]:
    cursor = None
    while True:
        page_params = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = person.http.get("/benchmark-results", params=page_params)
        assert response.status_code == 200, response.text
        page = response.json()
        yield page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


@pytest.mark.parametrize("descending", [False, True])
def test_sort_by_a_json_number_pages_through_every_result_in_order(
    world: World, charlie: Person, descending: bool
) -> None:
    params = {
        "benchmark_id": world.benchmark["id"],
        "sort_by": ("-" if descending else "") + "result.score",
    }
    pages = list(all_pages(charlie, params, limit=3))
    assert len(pages) == 7
    scores = [item["json"]["result"]["score"] for page in pages for item in page]
    want = sorted((d["result"]["score"] for d in c_ray_results().values()), reverse=descending)
    assert scores == want


def test_sort_with_ties_breaks_them_by_id_across_pages(world: World, charlie: Person) -> None:
    params = {"benchmark_id": world.benchmark["id"], "sort_by": "machine.cpu.count"}
    items = [item for page in all_pages(charlie, params, limit=4) for item in page]
    keys = [(item["json"]["machine"]["cpu"]["count"], item["id"]) for item in items]
    assert len(keys) == 20 and len(set(keys)) == 20
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    for (count_a, id_a), (count_b, id_b) in itertools.pairwise(keys):
        assert count_a < count_b or id_a < id_b


def test_sort_by_a_mixed_path_puts_numbers_then_strings_then_missing(
    world: World, charlie: Person
) -> None:
    params = {"benchmark_id": world.benchmark["id"], "sort_by": "machine.cpu.l1_data_cache_size"}
    values = [
        item["json"]["machine"]["cpu"]["l1_data_cache_size"]
        for page in all_pages(charlie, params, limit=6)
        for item in page
    ]
    numbers = sorted(v for v in values if isinstance(v, int))
    strings = sorted(v for v in values if isinstance(v, str))
    assert values == numbers + strings
    missing = {"benchmark_id": world.benchmark["id"], "sort_by": "-machine.gpu"}
    assert sum(len(p) for p in all_pages(charlie, missing, limit=7)) == 20


@pytest.mark.parametrize(
    "params",
    [
        {"filters": "machine.cpu.count => 4"},
        {"filters": "machine.cpu.count"},
        {"filters": "a..b == 1"},
        {"filters": "a >= true"},
        {"sort_by": "a..b"},
    ],
)
def test_unreadable_filters_are_422_invalid_filter(charlie: Person, params: dict[str, str]) -> None:
    assert_error(charlie.http.get("/benchmark-results", params=params), 422, "invalid_filter")


def test_a_forged_cursor_is_422(world: World, charlie: Person) -> None:
    for sort in ({}, {"sort_by": "result.score"}):
        response = charlie.http.get(
            "/benchmark-results", params={**sort, "cursor": "bm90LWEtY3Vyc29y"}
        )
        assert_error(response, 422, "invalid_cursor")


def test_the_cli_prints_csv_of_chosen_json_columns(
    server: LiveServer, world: World, charlie: Person
) -> None:
    out = server.cli(
        "benchmark",
        "results",
        "--benchmark",
        world.benchmark["name"],
        "--filter",
        "machine.cpu.count >= 4",
        "--sort",
        "-result.score",
        "--csv",
        "--column",
        "machine.cpu.count",
        "--column",
        "result.score",
        env={"VISIONHUB_TOKEN": charlie.token},
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    want = expected("machine.cpu.count", ">=", 4)
    assert world.stems([row["id"] for row in rows]) == want
    scores = [float(row["result.score"]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(int(row["machine.cpu.count"]) >= 4 for row in rows)


def test_the_cli_prints_a_table(server: LiveServer, world: World, charlie: Person) -> None:
    site = world.site_names["cesnet-mcc"]
    out = server.cli(
        "benchmark",
        "results",
        "--site",
        site,
        "--flavor",
        f"{site}/hpc.8core-16ram",
        "--tag",
        "many-cores",
        "--contains",
        '{"machine": {"cpu": {"count": 8}}}',
        "--column",
        "result.score",
        env={"VISIONHUB_TOKEN": charlie.token, "COLUMNS": "200"},
    ).stdout
    assert "105.238" in out and site in out
    assert "1016.565" not in out


def test_postgresql_has_the_gin_index_and_sqlite_does_not(
    committed: Callable[[], AbstractContextManager[None]],
) -> None:
    from django.db import connection

    with committed(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'result_json_gin'")
            (definition,) = cursor.fetchone()
            assert "USING gin (json jsonb_path_ops)" in definition
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'result_json_gin'")
            assert cursor.fetchone() is None


def test_the_openapi_document_has_the_seed_property_names(anonymous: Any) -> None:
    document = anonymous.get("/openapi.json").json()
    paths = set(document["paths"])
    assert {"/api/v1/benchmark-results", "/api/v1/submits/{submit_id}/approve"} <= paths
    result = document["components"]["schemas"]["benchmarks.ResultOut"]["properties"]
    assert {"json", "benchmark_id", "flavor_id", "tags_ids", "execution_datetime"} <= set(result)
    assert "json_schema" in document["components"]["schemas"]["BenchmarkOut"]["properties"]

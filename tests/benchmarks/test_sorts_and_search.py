"""The original's list behaviours on the 20 real c-ray results: ``sort_by`` with several keys
and directions (named keys and json paths) paged by cursor, upload-date bounds, the sorts and
bounds of the other lists, the ``address`` and ``resource_type`` filters, free-text search, and
boolean literals in filters. Every expected order is computed here from the uploaded results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.benchmarks.conftest import World, build_c_ray_world, c_ray_results, c_ray_schema
from tests.conftest import Person
from tests.helpers import assert_error, unique


@pytest.fixture(scope="module")
def world(admin: Person, bob: Person) -> World:
    return build_c_ray_world(admin, uploader=bob)


@pytest.fixture(scope="module")
def results(world: World, admin: Person) -> list[dict[str, Any]]:
    return list(admin.client.list_results(benchmark_id=world.benchmark["id"]))


def pages(person: Person, path: str, limit: int = 3, **params: Any) -> list[dict[str, Any]]:
    """Every item of ``path``, read ``limit`` at a time through the cursors."""
    items: list[dict[str, Any]] = []
    query = {**params, "limit": limit}
    while True:
        response = person.http.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        query["cursor"] = page["next_cursor"]


def ordered(
    rows: list[dict[str, Any]], *keys: tuple[Callable[[dict[str, Any]], Any], bool]
) -> list[str]:
    """Ids of ``rows`` sorted by ``keys`` (stable sorts from the last key), ties by id in the
    direction of the last key."""
    out = sorted(rows, key=lambda row: row["id"].replace("-", ""), reverse=keys[-1][1])
    for key, descending in reversed(keys):
        out = sorted(out, key=key, reverse=descending)
    return [row["id"] for row in out]


def score(row: dict[str, Any]) -> Decimal:
    return Decimal(str(row["json"]["result"]["score"]))


def field(name: str) -> Callable[[dict[str, Any]], Any]:
    if name.endswith("datetime"):
        return lambda row: datetime.fromisoformat(row[name])
    return lambda row: row[name]


def sorted_ids(person: Person, world: World, sort_by: str, limit: int = 3) -> list[str]:
    params = {"benchmark_id": world.benchmark["id"], "sort_by": sort_by}
    return [item["id"] for item in pages(person, "/benchmark-results", limit, **params)]


@pytest.mark.parametrize(
    ("sort_by", "keys"),
    [
        ("+site_name,+flavor_name", [("site_name", False), ("flavor_name", False)]),
        ("-site_name,-flavor_name", [("site_name", True), ("flavor_name", True)]),
        ("site_name,-execution_datetime", [("site_name", False), ("execution_datetime", True)]),
        ("-flavor_name,upload_datetime", [("flavor_name", True), ("upload_datetime", False)]),
        ("execution_datetime", [("execution_datetime", False)]),
        ("-upload_datetime", [("upload_datetime", True)]),
        ("benchmark_name,-site_name", [("benchmark_name", False), ("site_name", True)]),
    ],
)
def test_named_sort_keys_in_either_direction_page_through_every_result(
    world: World,
    results: list[dict[str, Any]],
    charlie: Person,
    sort_by: str,
    keys: list[tuple[str, bool]],
) -> None:
    expected = ordered(results, *((field(name), down) for name, down in keys))
    assert sorted_ids(charlie, world, sort_by) == expected


def test_a_plus_sent_unescaped_in_the_url_reads_as_ascending(
    world: World, results: list[dict[str, Any]], charlie: Person
) -> None:
    """``?sort_by=+site_name`` arrives as `` site_name`` (a ``+`` in a query string is a space)."""
    url = f"/benchmark-results?benchmark_id={world.benchmark['id']}&sort_by=+site_name&limit=100"
    items = charlie.http.get(url).json()["items"]
    assert [i["id"] for i in items] == ordered(results, (field("site_name"), False))


@pytest.mark.parametrize(
    "sort_by", ["+flavor_name,-result.score", "flavor_name,-json.result.score"]
)
def test_a_json_path_key_combines_with_named_keys(
    world: World, results: list[dict[str, Any]], charlie: Person, sort_by: str
) -> None:
    expected = ordered(results, (field("flavor_name"), False), (score, True))
    assert sorted_ids(charlie, world, sort_by) == expected


def test_the_json_prefix_names_the_same_path(
    world: World, results: list[dict[str, Any]], charlie: Person
) -> None:
    assert sorted_ids(charlie, world, "json.result.score", 7) == sorted_ids(
        charlie, world, "result.score", 7
    )
    assert sorted_ids(charlie, world, "-json.result.score") == ordered(results, (score, True))


@pytest.mark.parametrize(
    "sort_by", ["site_name,,flavor_name", "+", "site_name,site_name", "a,b,c,d,e,f", "a..b"]
)
def test_an_unreadable_sort_is_422(world: World, charlie: Person, sort_by: str) -> None:
    response = charlie.http.get("/benchmark-results", params={"sort_by": sort_by})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("invalid_sort", "invalid_filter")


def test_a_cursor_of_another_sort_is_422(world: World, charlie: Person) -> None:
    params = {"benchmark_id": world.benchmark["id"], "sort_by": "site_name,flavor_name", "limit": 2}
    cursor = charlie.http.get("/benchmark-results", params=params).json()["next_cursor"]
    for other in ("execution_datetime", "result.score,site_name"):
        response = charlie.http.get(
            "/benchmark-results", params={**params, "sort_by": other, "cursor": cursor}
        )
        assert_error(response, 422, "invalid_cursor")


def test_upload_date_bounds(world: World, results: list[dict[str, Any]], charlie: Person) -> None:
    by_upload = sorted(results, key=lambda row: datetime.fromisoformat(row["upload_datetime"]))
    middle = by_upload[7]["upload_datetime"]
    params = {"benchmark_id": world.benchmark["id"]}
    after = pages(charlie, "/benchmark-results", 100, **params, upload_after=middle)
    before = pages(charlie, "/benchmark-results", 100, **params, upload_before=middle)
    assert {r["id"] for r in after} == {r["id"] for r in by_upload[7:]}
    assert {r["id"] for r in before} == {r["id"] for r in by_upload[:7]}


def test_search_needs_every_term_in_a_benchmark_site_flavor_or_tag_name(
    world: World, results: list[dict[str, Any]], charlie: Person
) -> None:
    site = world.site_names["ifca-lcg2"]

    def search(*terms: str) -> set[str]:
        params = {"terms": list(terms), "benchmark_id": world.benchmark["id"]}
        return {r["id"] for r in pages(charlie, "/benchmark-results/search", 100, **params)}

    assert search(site) == {r["id"] for r in results if r["site_name"] == site}
    assert search(site.upper(), "many-cores") == {
        r["id"] for r in results if r["site_name"] == site and "many-cores" in r["tags_names"]
    }
    assert search("AMD") == {r["id"] for r in results if "amd" in r["tags_names"]}
    assert search("c-ray") == {r["id"] for r in results}
    flavor = results[0]["flavor_name"]
    assert search(flavor, site) == {
        r["id"] for r in results if r["flavor_name"] == flavor and r["site_name"] == site
    }
    assert search(site, "no-such-word") == set()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "invalid_terms"),
        ({"terms": " "}, "invalid_terms"),
        ({"term": "x"}, "unknown_parameter"),
    ],
)
def test_a_search_without_terms_or_with_an_unknown_parameter_is_422(
    charlie: Person, params: dict[str, str], code: str
) -> None:
    for path in ("/benchmark-results/search", "/benchmarks/search", "/sites/search"):
        assert_error(charlie.http.get(path, params=params), 422, code)


def test_search_over_benchmarks_sites_flavors_and_tags(
    world: World, admin: Person, charlie: Person
) -> None:
    word = unique("zebra")
    benchmark = admin.client.create_benchmark(
        unique("team/bench"), "1", c_ray_schema(), description=f"measures the {word}"
    )
    site = admin.client.create_site(unique("site"), f"{word} street 1, Lisbon")
    flavor = admin.client.create_flavor(site["id"], "m1.huge", description="a big one")
    tag = admin.client.create_tag(unique("tag"), description=f"{word} runs")

    def ids(path: str, *terms: str) -> list[str]:
        return [item["id"] for item in pages(charlie, path, 100, terms=list(terms))]

    assert ids("/benchmarks/search", word.upper(), "measures") == [benchmark["id"]]
    assert ids("/benchmarks/search", word, "absent") == []
    assert ids("/sites/search", word, "lisbon") == [site["id"]]
    assert ids("/flavors/search", site["name"], "big") == [flavor["id"]]
    assert ids("/tags/search", word) == [tag["id"]]


def test_search_hides_what_the_lists_hide(alice: Person, charlie: Person) -> None:
    word = unique("secret")
    alice.client.create_site(unique("site"), f"{word} lane")  # on review: alice's only
    assert [s["id"] for s in pages(charlie, "/sites/search", terms=[word])] == []
    assert len(pages(alice, "/sites/search", terms=[word])) == 1


def test_other_lists_sort_by_several_keys_and_bound_the_upload_date(
    admin: Person, charlie: Person
) -> None:
    word = unique("sortable")
    sites = [
        admin.client.create_site(unique(f"{word}-{letter}"), address)
        for letter, address in (("b", "x"), ("a", "y"), ("c", "x"))
    ]
    found = pages(charlie, "/sites/search", 2, terms=[word], sort_by="address,-name")
    by_key = sorted(sites, key=lambda s: s["name"], reverse=True)
    assert [s["id"] for s in found] == [s["id"] for s in sorted(by_key, key=lambda s: s["address"])]
    newest_first = pages(charlie, "/sites/search", 2, terms=[word], sort_by="-upload_datetime")
    assert [s["id"] for s in newest_first] == [s["id"] for s in reversed(sites)]
    after = pages(charlie, "/sites/search", terms=[word], upload_after=sites[1]["upload_datetime"])
    assert {s["id"] for s in after} == {s["id"] for s in sites[1:]}
    tags = [admin.client.create_tag(unique(word)) for _ in range(3)]
    listed = pages(charlie, "/tags", 2, sort_by="-upload_datetime", upload_after=_at(tags[0]))
    assert [t["id"] for t in listed][:3] == [t["id"] for t in reversed(tags)]
    response = charlie.http.get("/sites", params={"sort_by": "json.x"})
    assert_error(response, 422, "invalid_sort")


def _at(tag: dict[str, Any]) -> str:
    return str(tag["upload_datetime"])


def test_the_tag_list_has_upload_times(admin: Person) -> None:
    tag = admin.client.create_tag(unique("timed"))
    assert datetime.fromisoformat(tag["upload_datetime"]).tzinfo is not None


def test_sites_filter_by_address(admin: Person, charlie: Person) -> None:
    address = unique("Rua Augusta") + ", Lisbon"
    site = admin.client.create_site(unique("site"), address)
    admin.client.create_site(unique("site"), address + " (annex)")
    assert [s["id"] for s in charlie.client.list_sites(address=address)] == [site["id"]]


def test_submits_filter_by_resource_type(alice: Person, admin: Person) -> None:
    site = alice.client.create_site(unique("site"), "somewhere")
    benchmark = alice.client.create_benchmark(unique("alice/typed"), "1", c_ray_schema())
    sites = {s["resource_id"] for s in alice.client.iterate("/submits", {"resource_type": "site"})}
    benchmarks = {
        s["resource_id"] for s in alice.client.iterate("/submits", {"resource_type": "benchmark"})
    }
    assert site["id"] in sites and site["id"] not in benchmarks
    assert benchmark["id"] in benchmarks and benchmark["id"] not in sites
    assert_error(alice.http.get("/submits", params={"resource_type": "result"}), 422)
    oldest = pages(admin, "/submits", 50, sort_by="status,upload_datetime", resource_type="site")
    assert [s["status"] for s in oldest] == sorted(s["status"] for s in oldest)


def test_claims_sort_by_upload_time(world: World, bob: Person) -> None:
    first = bob.client.file_claim("site", world.sites["ifca-lcg2"]["id"], "one")
    second = bob.client.file_claim("site", world.sites["ifca-lcg2"]["id"], "two")
    ids = [c["id"] for c in pages(bob, "/claims", 1, sort_by="upload_datetime")]
    assert ids.index(first["id"]) < ids.index(second["id"])


@pytest.fixture(scope="module")
def flagged(world: World, admin: Person) -> dict[str, Any]:
    """A benchmark of its own with two results whose json holds ``flags_available: true``, one
    holding the *string* ``"True"`` and one ``false``."""
    benchmark = admin.client.create_benchmark(unique("eosc/flags"), "1", c_ray_schema())
    document = c_ray_results()["cesga-1"]
    flavor = next(iter(world.flavors.values()))["id"]
    made: dict[str, Any] = {
        "benchmark_id": benchmark["id"],
        True: set(),
        "True": set(),
        False: set(),
    }
    for value in (True, True, "True", False):
        changed = {**document, "machine": {**document["machine"]}}
        changed["machine"]["cpu"] = {**document["machine"]["cpu"], "flags_available": value}
        result = admin.client.upload_result(
            changed,
            benchmark_id=benchmark["id"],
            flavor_id=flavor,
            execution_datetime="2022-01-01T00:00Z",
        )
        made[value].add(result["id"])
    return made


def matching(person: Person, flagged: dict[str, Any], condition: str) -> set[str]:
    params = {"benchmark_id": flagged["benchmark_id"], "filters": condition}
    return {r["id"] for r in person.client.list_results(**params)}


@pytest.mark.parametrize(
    ("true", "false"), [("true", "false"), ("True", "False"), ("TRUE", "FALSE")]
)
def test_boolean_literals_match_json_booleans_in_any_of_the_originals_spellings(
    flagged: dict[str, Any], charlie: Person, true: str, false: str
) -> None:
    path = "machine.cpu.flags_available"
    assert matching(charlie, flagged, f"{path} == {true}") == flagged[True]
    assert matching(charlie, flagged, f"{path}=={false}") == flagged[False]


@pytest.mark.parametrize("quoted", ['"True"', "'True'"])
def test_a_quoted_true_matches_the_string(
    flagged: dict[str, Any], charlie: Person, quoted: str
) -> None:
    found = matching(charlie, flagged, f"machine.cpu.flags_available == {quoted}")
    assert found == flagged["True"]


def test_other_spellings_of_true_are_strings(flagged: dict[str, Any], charlie: Person) -> None:
    assert matching(charlie, flagged, "machine.cpu.flags_available == tRUE") == set()
    assert_error(
        charlie.http.get(
            "/benchmark-results", params={"filters": "machine.cpu.flags_available > True"}
        ),
        422,
        "invalid_filter",
    )

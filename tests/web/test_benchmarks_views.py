"""The benchmark pages over HTTP: results filtered as the API filters them, sorted by a json
path, in keyset pages, as CSV and as a chart across flavors; the catalogue with its review
status; administrators deciding submissions through ``review_submit``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from html import unescape
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.benchmarks.conftest import World, build_c_ray_world, c_ray_results, site_and_count
from tests.conftest import Person
from tests.helpers import unique
from tests.web.hub_support import submit_form

from visionhub.benchmarks.models import Submit

Pages = Callable[[Person], httpx.Client]
Committed = Callable[[], AbstractContextManager[None]]


@pytest.fixture(scope="module")
def world(admin: Person, alice: Person) -> World:
    return build_c_ray_world(admin, alice)


def _shown(html: str) -> list[str]:
    return re.findall(r'data-result="([0-9a-f-]+)"', html)


def _cpus(stem: str) -> int:
    return int(c_ray_results()[stem]["machine"]["cpu"]["count"])


def _score(stem: str) -> float:
    return float(c_ray_results()[stem]["result"]["score"])


def _results(pages: httpx.Client, world: World, **params: Any) -> httpx.Response:
    return pages.get(
        "/benchmarks/results/", params={"benchmark_id": world.benchmark["id"], **params}
    )


def test_the_table_applies_the_json_filter_syntax(
    session_of: Pages, alice: Person, world: World
) -> None:
    response = _results(
        session_of(alice), world, filters=["machine.cpu.count >= 4", "result.score < 300"]
    )
    assert response.status_code == 200
    expected = {world.results[s] for s in world.results if _cpus(s) >= 4 and _score(s) < 300}
    assert expected and set(_shown(response.text)) == expected


def test_sorting_by_a_json_path_orders_the_rows(
    session_of: Pages, alice: Person, world: World
) -> None:
    html = _results(session_of(alice), world, sort_by="-result.score", columns="result.score").text
    by_id = {world.results[s]: _score(s) for s in world.results}
    assert [by_id[i] for i in _shown(html)] == sorted(by_id.values(), reverse=True)


def test_site_flavor_tags_and_dates_narrow_the_table(
    session_of: Pages, alice: Person, world: World
) -> None:
    pages = session_of(alice)
    stem = "ifca-lcg2-4"
    site_id = world.sites["ifca-lcg2"]["id"]
    at_site = {world.results[s] for s in world.results if s.startswith("ifca-lcg2-")}
    assert set(_shown(_results(pages, world, site_id=site_id).text)) == at_site
    flavor_id = world.flavors[site_and_count(stem)]["id"]
    assert _shown(_results(pages, world, flavor_id=flavor_id).text) == [world.results[stem]]
    amd = {
        world.results[s]
        for s, d in c_ray_results().items()
        if d["machine"]["cpu"]["vendor_id_raw"] == "AuthenticAMD" and _cpus(s) >= 8
    }
    tagged = _results(pages, world, tags_all="amd, many-cores").text
    assert set(_shown(tagged)) == amd
    first_days = _results(pages, world, **{"from": "2021-03-01", "to": "2021-03-03"}).text
    assert len(_shown(first_days)) == 3  # one result a day, the end day included


def test_keyset_pages_keep_the_filters(session_of: Pages, alice: Person, world: World) -> None:
    document = c_ray_results()["cesga-1"]
    extra = 55  # two pages of 50
    for n in range(extra):
        made = alice.client.upload_result(
            document,
            benchmark_id=world.benchmark["id"],
            flavor_id=world.flavors[site_and_count("cesga-1")]["id"],
            execution_datetime=f"2022-01-01T00:00:{n % 60:02d}+00:00",
        )
        assert made["id"]
    pages = session_of(alice)
    first = _results(pages, world, filters="machine.cpu.count == 1", sort_by="result.score").text
    next_link = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_link is not None
    second = pages.get(unescape(next_link[1])).text
    shown = _shown(first) + _shown(second)
    ones = [s for s in world.results if _cpus(s) == 1]
    assert len(shown) == len(set(shown)) == extra + len(ones)
    assert 'rel="next"' not in second


def test_a_bad_filter_is_explained_on_the_page(session_of: Pages, alice: Person) -> None:
    response = session_of(alice).get(
        "/benchmarks/results/", params={"filters": "machine.cpu.count >> 4"}
    )
    assert response.status_code == 422
    assert "must be quoted" in unescape(response.text)


def test_the_csv_streams_the_chosen_json_columns(
    session_of: Pages, alice: Person, world: World
) -> None:
    response = session_of(alice).get(
        "/benchmarks/results.csv",
        params={
            "benchmark_id": world.benchmark["id"],
            "columns": "machine.cpu.count, result.score",
            "sort_by": "-result.score",
        },
    )
    assert response.headers["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    scores = [float(row["result.score"]) for row in rows]
    assert scores == sorted(scores, reverse=True)  # the table's order
    by_id = {world.results[s]: s for s in world.results}
    assert {row["id"] for row in rows} >= set(by_id)
    for row in rows:
        if row["id"] in by_id:
            stem = by_id[row["id"]]
            assert int(row["machine.cpu.count"]) == _cpus(stem)
            assert float(row["result.score"]) == _score(stem)


def test_the_chart_compares_a_value_across_flavors(
    session_of: Pages, alice: Person, world: World
) -> None:
    html = unescape(
        _results(
            session_of(alice), world, chart="result.score", filters="machine.cpu.count >= 2"
        ).text
    )
    means = dict(re.findall(r'data-flavor="([^"]+)" data-mean="([0-9.]+)"', html))
    stems = [s for s in world.results if _cpus(s) >= 2]
    assert len(means) == len(stems)
    for stem in stems:
        site, count = site_and_count(stem)
        label = f"{world.site_names[site]} / {world.flavors[(site, count)]['name']}"
        assert float(means[label]) == pytest.approx(_score(stem))


def test_the_results_page_costs_the_same_queries_whatever_the_rows(
    session_of: Pages, alice: Person, world: World
) -> None:
    pages = session_of(alice)
    with CaptureQueriesContext(connection) as few:
        _results(pages, world, columns="result.score", filters="machine.cpu.count == 32")
    with CaptureQueriesContext(connection) as more:
        _results(pages, world, columns="result.score")
    assert len(more) == len(few)


def _submit_of(committed: Committed, **where: Any) -> str:
    with committed():
        return str(Submit.objects.get(**where).pk)


def test_admins_approve_and_reject_submissions_from_the_page(
    session_of: Pages, admin: Person, alice: Person, committed: Committed
) -> None:
    kept, dropped = unique("cloud"), unique("cloud")
    site = alice.client.create_site(kept, "somewhere")
    other = alice.client.create_site(dropped, "elsewhere")
    mine = session_of(alice)
    assert kept in mine.get("/benchmarks/sites/").text
    review = mine.get("/benchmarks/review/").text
    assert kept in review and "Approve" not in review
    submit = _submit_of(committed, site_id=site["id"])
    approve = f"/benchmarks/review/{submit}/approve"
    assert submit_form(mine, "/benchmarks/review/", approve).status_code == 403

    staff = session_of(admin)
    assert "Approve" in staff.get("/benchmarks/review/").text
    done = submit_form(staff, "/benchmarks/review/", approve, {"message": "welcome"})
    assert done.status_code == 302
    rejected = _submit_of(committed, site_id=other["id"])
    submit_form(staff, "/benchmarks/review/", f"/benchmarks/review/{rejected}/reject")
    assert alice.http.get(f"/sites/{site['id']}").json()["status"] == "approved"
    assert alice.http.get(f"/sites/{other['id']}").json()["status"] == "rejected"
    again = submit_form(staff, "/benchmarks/review/", approve, follow_redirects=True)
    assert "already approved" in again.text
    assert "welcome" in staff.get("/benchmarks/review/", params={"status": "approved"}).text


def test_an_admin_dismisses_a_claim_and_the_result_is_shown_again(
    session_of: Pages, admin: Person, alice: Person, bob: Person, committed: Committed, world: World
) -> None:
    target = world.results["ncg-ingrid-pt-2"]
    claim = {"resource_type": "result", "resource_id": target, "message": "the clock was wrong"}
    assert bob.http.post("/claims", json=claim).status_code == 201
    pages = session_of(alice)
    flavor = world.flavors[site_and_count("ncg-ingrid-pt-2")]["id"]
    assert target not in _shown(_results(pages, world, flavor_id=flavor).text)
    staff = session_of(admin)
    assert "the clock was wrong" in staff.get("/benchmarks/review/").text
    submit = _submit_of(committed, claim__result_id=target)
    submit_form(staff, "/benchmarks/review/", f"/benchmarks/review/{submit}/reject")
    assert target in _shown(_results(pages, world, flavor_id=flavor).text)


def test_a_stranger_sees_no_one_elses_submission(
    session_of: Pages, alice: Person, charlie: Person, committed: Committed
) -> None:
    hidden = unique("hidden-cloud")
    site = alice.client.create_site(hidden, "x")
    submit = _submit_of(committed, site_id=site["id"])
    pages = session_of(charlie)
    assert hidden not in pages.get("/benchmarks/review/", params={"status": ""}).text
    assert hidden not in pages.get("/benchmarks/sites/").text
    approve = f"/benchmarks/review/{submit}/approve"
    assert submit_form(pages, "/benchmarks/review/", approve).status_code == 404


def test_the_catalogue_and_review_pages_cost_fixed_queries(
    session_of: Pages, admin: Person, alice: Person, bob: Person, world: World
) -> None:
    staff = session_of(admin)
    urls = ["/benchmarks/", "/benchmarks/sites/", "/benchmarks/flavors/", "/benchmarks/review/"]
    before = {}
    for url in urls:
        with CaptureQueriesContext(connection) as counted:
            assert staff.get(url).status_code == 200
        before[url] = len(counted)
    site_id = world.sites["cesga"]["id"]
    for n in range(3):
        alice.client.create_site(unique("more"), "b")
        alice.client.create_flavor(site_id, unique("flavor"))
        claim = {"resource_type": "site", "resource_id": site_id, "message": f"claim {n}"}
        assert bob.http.post("/claims", json=claim).status_code == 201
    for url in urls:
        with CaptureQueriesContext(connection) as counted:
            staff.get(url)
        assert len(counted) == before[url], url


def test_the_table_shows_uploaders_only_to_themselves_and_staff(
    session_of: Pages, alice: Person, bob: Person, admin: Person, world: World
) -> None:
    """The API's rule (docs/benchmarks.md): a stranger neither sees nor filters by them."""
    assert alice.username in _results(session_of(alice), world).text
    assert alice.username in _results(session_of(admin), world).text
    as_bob = _results(session_of(bob), world)
    assert as_bob.status_code == 200 and alice.username not in as_bob.text
    filtered = _results(session_of(bob), world, uploader=alice.username)
    assert alice.username not in _shown(filtered.text) and not _shown(filtered.text)

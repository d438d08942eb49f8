"""The benchmark pages in a browser: the results table with the API's filters, sorting, pages,
CSV and the chart across flavors; review status; administrators deciding submissions."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect
from tests.benchmarks.conftest import World, build_c_ray_world, c_ray_results
from tests.conftest import Person
from tests.helpers import unique
from tests.web.conftest import SignIn

pytestmark = [pytest.mark.process, pytest.mark.browser]


@pytest.fixture(scope="module")
def world(admin: Person, alice: Person) -> World:
    return build_c_ray_world(admin, alice)


def _score(stem: str) -> float:
    return float(c_ray_results()[stem]["result"]["score"])


def test_a_person_filters_sorts_charts_and_downloads_results(
    signed_in: SignIn, alice: Person, world: World
) -> None:
    page = signed_in(alice)
    page.goto("/benchmarks/results/")
    page.get_by_label("Benchmark").select_option(label=world.benchmark["docker_image"] + ":1.2.0")
    page.locator("input.json-filter").first.fill("machine.cpu.count >= 8")
    page.get_by_role("button", name="Add a filter").click()
    page.locator("input.json-filter").nth(1).fill("machine.cpu.vendor_id_raw == GenuineIntel")
    page.get_by_label("Sort by").fill("-result.score")
    page.get_by_label("Columns").fill("machine.cpu.count, result.score")
    page.get_by_label("Chart across flavors").fill("result.score")
    page.get_by_role("button", name="Show").click()

    wanted = [
        stem
        for stem, doc in c_ray_results().items()
        if doc["machine"]["cpu"]["count"] >= 8
        and doc["machine"]["cpu"]["vendor_id_raw"] == "GenuineIntel"
    ]
    assert wanted
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(len(wanted))
    shown = [
        float(text) for text in page.locator("#results tbody tr td:nth-child(7)").all_inner_texts()
    ]
    assert shown == sorted((_score(s) for s in wanted), reverse=True)
    expect(page.locator("#flavor-chart .bar")).to_have_count(len(wanted))
    widths = [
        float(w or 0)
        for w in page.locator("#flavor-chart .bar rect").evaluate_all(
            "rects => rects.map(r => r.getAttribute('width'))"
        )
    ]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1] > 0

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    table = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert {row["id"] for row in table} == {world.results[s] for s in wanted}
    assert {float(row["result.score"]) for row in table} == {_score(s) for s in wanted}


def test_a_date_range_and_tags_narrow_the_table(
    signed_in: SignIn, alice: Person, world: World
) -> None:
    page = signed_in(alice)
    benchmark = f"?benchmark_id={world.benchmark['id']}"
    page.goto(f"/benchmarks/results/{benchmark}&tags_all=amd")
    amd = [
        s
        for s, d in c_ray_results().items()
        if d["machine"]["cpu"]["vendor_id_raw"] == "AuthenticAMD"
    ]
    expect(page.locator("#results tbody tr")).to_have_count(len(amd))
    page.goto(f"/benchmarks/results/{benchmark}")
    page.get_by_label("Executed from").fill("2021-03-01")
    page.get_by_label("to", exact=True).fill("2021-03-03")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#results tbody tr")).to_have_count(3)  # one result a day


def test_a_bad_filter_is_explained(signed_in: SignIn, alice: Person) -> None:
    page = signed_in(alice)
    page.goto("/benchmarks/results/")
    page.locator("input.json-filter").first.fill("machine.cpu.count >> 4")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#query-error")).to_contain_text("must be quoted")


def test_an_admin_approves_a_site_and_upholds_a_claim(
    signed_in: SignIn, other_browser: SignIn, admin: Person, alice: Person, world: World
) -> None:
    site = unique("new-cloud")
    alice.client.create_site(site, "somewhere")
    mine = signed_in(alice)
    mine.goto("/benchmarks/sites/?status=on_review")
    expect(mine.locator("#sites")).to_contain_text(site)
    mine.goto("/benchmarks/review/")
    expect(mine.locator("#submits")).to_contain_text(site)
    expect(mine.get_by_role("button", name="Approve")).to_have_count(0)

    claimed = world.results["ifca-lcg2-4"]
    response = alice.http.post(
        "/claims",
        json={"resource_type": "result", "resource_id": claimed, "message": "clock skew"},
    )
    assert response.status_code == 201, response.text

    page = other_browser(admin)
    page.goto("/benchmarks/review/")
    row = page.locator("#submits tr", has_text=site)
    row.get_by_placeholder("message (optional)").first.fill("welcome")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(".messages")).to_contain_text("site approved")
    claim = page.locator("#submits tr", has_text="clock skew")
    claim.get_by_role("button", name="Uphold").click()
    expect(page.locator(".messages")).to_contain_text("claim upheld")
    assert alice.http.get(f"/sites?name={site}").json()["items"][0]["status"] == "approved"
    assert alice.http.get(f"/benchmark-results/{claimed}").status_code == 200  # the uploader's
    page.goto(f"/benchmarks/results/?benchmark_id={world.benchmark['id']}")
    expect(page.locator(f'tr[data-result="{claimed}"]')).to_have_count(0)


def test_a_stranger_sees_nothing_under_review(
    other_browser: SignIn, alice: Person, charlie: Person
) -> None:
    site = unique("pending-cloud")
    alice.client.create_site(site, "elsewhere")
    page = other_browser(charlie)
    for url in ("/benchmarks/sites/", "/benchmarks/review/?status="):
        page.goto(url)
        expect(page.get_by_text(site)).to_have_count(0)

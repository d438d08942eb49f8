"""The benchmarks rows of the stranger matrix (``tests/strangers.py``): alice's resources still
on review do not exist for charlie; approved ones he may read but not change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.benchmarks.conftest import c_ray_results, c_ray_schema
from tests.conftest import Person
from tests.helpers import unique
from tests.strangers import Hidden, Open, Row

WHEN = datetime(2022, 6, 1, tzinfo=UTC).isoformat()


def world(alice: Person, admin: Person) -> dict[str, Any]:
    """Alice's things: some still on review, some approved, a result and a claim."""
    made: dict[str, Any] = {}
    made["review_benchmark"] = alice.client.create_benchmark(unique("alice/b"), "1", c_ray_schema())
    made["benchmark"] = alice.client.create_benchmark(unique("alice/b"), "2", c_ray_schema())
    made["review_site"] = alice.client.create_site(unique("alice-site"), "Somewhere")
    made["site"] = alice.client.create_site(unique("alice-site"), "Elsewhere")
    submits = {s["resource_id"]: s["id"] for s in alice.client.list_submits()}
    for key in ("benchmark", "site"):
        admin.client.approve_submit(submits[made[key]["id"]])
    made["review_flavor"] = alice.client.create_flavor(made["site"]["id"], "m1.review")
    made["flavor"] = alice.client.create_flavor(made["site"]["id"], "m1.small")
    made["review_site_flavor"] = alice.client.create_flavor(made["review_site"]["id"], "m1.tiny")
    submits = {s["resource_id"]: s["id"] for s in alice.client.list_submits()}
    admin.client.approve_submit(submits[made["flavor"]["id"]])
    made["submit"] = submits[made["review_benchmark"]["id"]]
    made["result"] = alice.client.upload_result(
        c_ray_results()["cesga-1"],
        benchmark_id=made["benchmark"]["id"],
        flavor_id=made["flavor"]["id"],
        execution_datetime=WHEN,
    )
    made["claim"] = alice.client.file_claim("benchmark", made["benchmark"]["id"], "tag reused")
    made["tag"] = admin.client.create_tag(unique("tag"))
    for key in ("review_benchmark", "benchmark", "review_site", "site", "review_flavor", "result"):
        made[f"{key}_id"] = made[key]["id"]
    made["claim_id"] = made["claim"]["id"]
    return made


def upload(benchmark: str, flavor: str) -> Any:
    return lambda w: {
        "json": c_ray_results()["cesga-1"],
        "benchmark_id": w[benchmark],
        "flavor_id": w[flavor],
        "execution_datetime": WHEN,
    }


TEST = "benchmarks/test_strangers.py"
ON_REVIEW = {"benchmark_id": "review_benchmark_id"}
APPROVED = {"benchmark_id": "benchmark_id"}
REVIEW_SITE = {"site_id": "review_site_id"}
SITE = {"site_id": "site_id"}
REVIEW_FLAVOR = {"flavor_id": "review_flavor_id"}
SUBMIT = {"submit_id": "submit"}
CURATION = "benchmarks/test_curation.py"
SEARCH = "benchmarks/test_sorts_and_search.py"

ROWS: list[Row] = [
    Open("POST", "/benchmarks", "submits charlie's own benchmark for review", TEST),
    Open("GET", "/benchmarks", "lists approved benchmarks and charlie's own", TEST),
    Open("GET", "/benchmarks/inference", "the approved benchmark of inference runs", TEST),
    Hidden("GET", "/benchmarks/{benchmark_id}", "benchmark_not_found", fill=ON_REVIEW),
    Hidden(
        "PATCH",
        "/benchmarks/{benchmark_id}",
        "benchmark_not_found",
        fill=APPROVED,
        json={"url": ""},
    ),
    Hidden("DELETE", "/benchmarks/{benchmark_id}", "benchmark_not_found", fill=APPROVED),
    Open("GET", "/benchmarks/search", "searches what the list shows charlie", SEARCH),
    Open("POST", "/sites", "submits charlie's own site for review", TEST),
    Open("GET", "/sites/search", "searches what the list shows charlie", SEARCH),
    Hidden("DELETE", "/sites/{site_id}", "site_not_found", fill=SITE),
    Hidden("DELETE", "/flavors/{flavor_id}", "flavor_not_found", fill=REVIEW_FLAVOR),
    Open("GET", "/flavors/search", "searches what the list shows charlie", SEARCH),
    Open("GET", "/tags/search", "tags are public", SEARCH),
    Open("PATCH", "/tags/{tag_id}", "tags are public; only admins edit them (403)", CURATION),
    Open("DELETE", "/tags/{tag_id}", "tags are public; only admins delete them (403)", CURATION),
    Open("GET", "/benchmark-results/search", "searches the public results", SEARCH),
    Hidden("GET", "/benchmark-results/{result_id}/claims", "result_not_found"),
    Hidden("PUT", "/benchmark-results/{result_id}/tags", "result_not_found", json={"tags_ids": []}),
    Open("GET", "/sites", "lists approved sites and charlie's own", TEST),
    Hidden("GET", "/sites/{site_id}", "site_not_found", fill=REVIEW_SITE),
    Hidden("PATCH", "/sites/{site_id}", "site_not_found", fill=SITE, json={"address": "x"}),
    Hidden("GET", "/sites/{site_id}/flavors", "site_not_found", fill=REVIEW_SITE),
    Hidden(
        "POST",
        "/flavors",
        "site_not_found",
        json=lambda w: {"site_id": w["review_site_id"], "name": "sneaky"},
    ),
    Open("GET", "/flavors", "lists approved flavors and charlie's own", TEST),
    Hidden("GET", "/flavors/{flavor_id}", "flavor_not_found", fill=REVIEW_FLAVOR),
    Hidden(
        "PATCH",
        "/flavors/{flavor_id}",
        "flavor_not_found",
        fill=REVIEW_FLAVOR,
        json={"description": "x"},
    ),
    Open("POST", "/tags", "tags are public: anyone may add one", TEST),
    Open("GET", "/tags", "tags are public", TEST),
    Open("GET", "/tags/{tag_id}", "tags are public", TEST),
    Hidden(
        "POST",
        "/benchmark-results",
        "benchmark_not_found",
        json=upload("review_benchmark_id", "review_flavor_id"),
    ),
    Open("GET", "/benchmark-results", "results on approved resources are public", TEST),
    Open("GET", "/benchmark-results/{result_id}", "results on approved resources are public", TEST),
    Hidden("DELETE", "/benchmark-results/{result_id}", "result_not_found"),
    Hidden(
        "POST",
        "/claims",
        "benchmark_not_found",
        json=lambda w: {
            "resource_type": "benchmark",
            "resource_id": w["review_benchmark_id"],
            "message": "x",
        },
    ),
    Open("GET", "/claims", "lists charlie's own claims", TEST),
    Hidden("GET", "/claims/{claim_id}", "claim_not_found"),
    Open("GET", "/submits", "lists charlie's own submits", TEST),
    Hidden("GET", "/submits/{submit_id}", "submit_not_found", fill=SUBMIT),
    Hidden("POST", "/submits/{submit_id}/approve", "submit_not_found", fill=SUBMIT, json={}),
    Hidden("POST", "/submits/{submit_id}/reject", "submit_not_found", fill=SUBMIT, json={}),
]

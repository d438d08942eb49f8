"""Uploading and deleting results: every violation listed, bad values refused, nothing
half-written, deleted results kept but hidden."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.benchmarks.conftest import c_ray_results, c_ray_schema
from tests.conftest import Person
from tests.helpers import assert_error, unique

Committed = Callable[[], AbstractContextManager[None]]
WHEN = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat()


@pytest.fixture(scope="module")
def setup(admin: Person) -> dict[str, Any]:
    bench = admin.client.create_benchmark(unique("eosc/c-ray"), "1.2.0", c_ray_schema())
    site = admin.client.create_site(unique("ifca"), "Santander")
    flavor = admin.client.create_flavor(site["id"], "cm4.4xlarge")
    tags = admin.client.ensure_tags(["intel", unique("extra")])
    return {"benchmark": bench, "flavor": flavor, "site": site, "tags": tags}


def body(setup: dict[str, Any], document: Any, **extra: Any) -> dict[str, Any]:
    return {
        "json": document,
        "benchmark_id": setup["benchmark"]["id"],
        "flavor_id": setup["flavor"]["id"],
        "execution_datetime": WHEN,
        **extra,
    }


def count_results(setup: dict[str, Any], committed: Committed) -> int:
    from visionhub.benchmarks.models import BenchmarkResult

    with committed():
        return BenchmarkResult.objects.filter(benchmark_id=setup["benchmark"]["id"]).count()


def test_an_upload_answers_the_seed_properties(alice: Person, setup: dict[str, Any]) -> None:
    document = c_ray_results()["ifca-lcg2-16"]
    response = alice.http.post(
        "/benchmark-results", json=body(setup, document, tags_ids=setup["tags"])
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["json"] == document
    assert made["benchmark_id"] == setup["benchmark"]["id"]
    assert made["flavor_id"] == setup["flavor"]["id"]
    assert made["site_id"] == setup["site"]["id"]
    assert made["site_address"] == "Santander"
    assert made["flavor_name"] == "cm4.4xlarge"
    assert sorted(made["tags_ids"]) == sorted(setup["tags"])
    assert made["uploader"] == alice.username
    assert datetime.fromisoformat(made["execution_datetime"]) == datetime.fromisoformat(WHEN)
    assert (made["deleted"], made["claimed"]) == (False, False)
    assert alice.http.get(f"/benchmark-results/{made['id']}").json() == made


def test_a_result_violating_the_schema_is_422_with_every_violation(
    alice: Person, setup: dict[str, Any], committed: Committed
) -> None:
    before = count_results(setup, committed)
    document = copy.deepcopy(c_ray_results()["ncg-ingrid-pt-32"])
    document["machine"]["cpu"]["count"] = 0
    document["machine"]["cpu"]["bits"] = 48
    document["result"]["all_results"] = "fast"
    del document["machine"]["cpu"]["flags"]
    error = assert_error(
        alice.http.post("/benchmark-results", json=body(setup, document)), 422, "invalid_result"
    )
    assert error["details"]["count"] == 4
    assert [(v["path"], v["validator"]) for v in error["details"]["violations"]] == [
        ("$.machine.cpu", "required"),
        ("$.machine.cpu.bits", "enum"),
        ("$.machine.cpu.count", "minimum"),
        ("$.result.all_results", "pattern"),
    ]
    assert count_results(setup, committed) == before


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        # NaN and Infinity are not JSON: the strict parser refuses the body itself.
        ('{"a": NaN}', 400, "invalid_json"),
        ('{"a": [Infinity]}', 400, "invalid_json"),
        ('{"a": "\\u0000"}', 422, "invalid_json_value"),
    ],
)
def test_values_a_json_database_cannot_store_are_refused(
    alice: Person, setup: dict[str, Any], raw: str, status: int, code: str
) -> None:
    # Checked before the schema, so the c-ray schema's own complaints do not hide it.
    text = json.dumps(body(setup, "__DOC__")).replace('"__DOC__"', raw)
    response = alice.http.post(
        "/benchmark-results", content=text, headers={"Content-Type": "application/json"}
    )
    assert_error(response, status, code)


@pytest.mark.parametrize("document", [[1, 2], "text", 3, None])
def test_the_json_must_be_an_object(alice: Person, setup: dict[str, Any], document: Any) -> None:
    response = alice.http.post("/benchmark-results", json=body(setup, document))
    assert_error(response, 422, "invalid_result")


def test_unknown_tags_are_422(alice: Person, setup: dict[str, Any]) -> None:
    ghost = "00000000-0000-4000-8000-000000000000"
    response = alice.http.post(
        "/benchmark-results", json=body(setup, c_ray_results()["cesga-1"], tags_ids=[ghost])
    )
    error = assert_error(response, 422, "unknown_tag")
    assert error["details"]["tags_ids"] == [ghost]


def test_an_execution_in_the_future_is_422(alice: Person, setup: dict[str, Any]) -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    response = alice.http.post(
        "/benchmark-results",
        json=body(setup, c_ray_results()["cesga-1"], execution_datetime=later),
    )
    assert_error(response, 422, "execution_in_future")


def test_a_missing_field_is_the_validation_envelope(alice: Person, setup: dict[str, Any]) -> None:
    response = alice.http.post(
        "/benchmark-results", json={"json": {}, "benchmark_id": setup["benchmark"]["id"]}
    )
    assert_error(response, 422, "validation_error")


def test_a_deleted_result_is_hidden_but_kept(
    alice: Person, bob: Person, admin: Person, setup: dict[str, Any], committed: Committed
) -> None:
    from visionhub.benchmarks.models import BenchmarkResult

    made = alice.client.upload_result(
        c_ray_results()["cesga-1"],
        benchmark_id=setup["benchmark"]["id"],
        flavor_id=setup["flavor"]["id"],
        execution_datetime=WHEN,
    )
    assert_error(bob.http.delete(f"/benchmark-results/{made['id']}"), 404, "result_not_found")
    assert alice.http.delete(f"/benchmark-results/{made['id']}").status_code == 204
    assert admin.http.get(f"/benchmark-results/{made['id']}").json()["deleted"] is True
    for person in (alice, bob, admin):
        if person is not admin:
            assert_error(person.http.get(f"/benchmark-results/{made['id']}"), 404)
        ids = {r["id"] for r in person.client.list_results(benchmark_id=setup["benchmark"]["id"])}
        assert made["id"] not in ids
    with_deleted = admin.client.list_results(
        benchmark_id=setup["benchmark"]["id"], include_deleted="true"
    )
    assert made["id"] in {r["id"] for r in with_deleted}
    # Only admins may ask for deleted results.
    alice_asks = alice.client.list_results(
        benchmark_id=setup["benchmark"]["id"], include_deleted="true"
    )
    assert made["id"] not in {r["id"] for r in alice_asks}
    assert_error(alice.http.delete(f"/benchmark-results/{made['id']}"), 404)
    with committed():
        assert BenchmarkResult.objects.get(pk=made["id"]).deleted is True


def test_an_admin_may_delete_anyones_result(
    alice: Person, admin: Person, setup: dict[str, Any]
) -> None:
    made = alice.client.upload_result(
        c_ray_results()["cesga-1"],
        benchmark_id=setup["benchmark"]["id"],
        flavor_id=setup["flavor"]["id"],
        execution_datetime=WHEN,
    )
    assert admin.http.delete(f"/benchmark-results/{made['id']}").status_code == 204


def test_pages_are_keyset_paginated_newest_first(alice: Person, setup: dict[str, Any]) -> None:
    uploaded = [
        alice.client.upload_result(
            c_ray_results()[stem],
            benchmark_id=setup["benchmark"]["id"],
            flavor_id=setup["flavor"]["id"],
            execution_datetime=WHEN,
        )["id"]
        for stem in ("cesga-1", "ifca-lcg2-1", "ifca-lcg2-2")
    ]
    listed = [
        r["id"]
        for r in alice.client.iterate(
            "/benchmark-results", {"benchmark_id": setup["benchmark"]["id"]}, page_size=2
        )
    ]
    assert listed[:3] == list(reversed(uploaded))
    assert len(listed) == len(set(listed))
    assert_error(alice.http.get("/benchmark-results", params={"limit": 0}), 422, "invalid_limit")

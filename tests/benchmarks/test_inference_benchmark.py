"""VisionHub's own inference benchmark, and the client method ``visionhub worker bench`` uses."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Person
from tests.helpers import unique

from visionhub import __version__
from visionhub.client import ClientError


def measurement(cpus: int = 4, images_per_second: float = 812.5) -> dict[str, Any]:
    return {
        "model": "digits",
        "version": 3,
        "deployment": "digits-prod",
        "images_per_second": images_per_second,
        "latency_ms": {"p50": 4.1, "p90": 6.0, "p99": 9.7},
        "batch_size": 32,
        "images": 2048,
        "runtime": {"visionhub": __version__, "onnxruntime": "1.18.0", "providers": ["CPU"]},
        "machine": {"cpu": {"count": cpus, "brand_raw": "AMD EPYC"}, "memory_bytes": 8 << 30},
    }


def test_the_inference_benchmark_is_made_once_approved_and_public(
    alice: Person, charlie: Person
) -> None:
    first = alice.client.inference_benchmark()
    assert first["name"] == f"visionhub/inference:{__version__}"
    assert (first["status"], first["uploader"]) == ("approved", None)
    assert set(first["json_schema"]["required"]) >= {"images_per_second", "latency_ms", "machine"}
    assert charlie.client.inference_benchmark()["id"] == first["id"]
    assert charlie.http.get(f"/benchmarks/{first['id']}").status_code == 200


def test_an_admin_uploads_a_measurement_creating_site_and_flavor(
    admin: Person, charlie: Person
) -> None:
    site = unique("lab")
    made = admin.client.upload_inference_result(measurement(), site, "gpu.large", tags=["cpu"])
    assert made["benchmark_name"] == f"visionhub/inference:{__version__}"
    assert (made["site_name"], made["flavor_name"], made["tags_names"]) == (
        site,
        "gpu.large",
        ["cpu"],
    )
    again = admin.client.upload_inference_result(measurement(8, 1500.0), site, "gpu.large")
    assert again["flavor_id"] == made["flavor_id"]
    fast = list(
        charlie.client.list_results(
            benchmark_id=made["benchmark_id"],
            site_id=made["site_id"],
            filters=["images_per_second >= 1000", "latency_ms.p99 < 10"],
        )
    )
    assert [r["id"] for r in fast] == [again["id"]]


def test_a_non_admin_gets_a_clear_refusal_until_an_admin_approves(
    alice: Person, admin: Person
) -> None:
    site = unique("home")
    with pytest.raises(ClientError) as refused:
        alice.client.upload_inference_result(measurement(), site, "laptop")
    assert (refused.value.status, refused.value.code) == (409, "flavor_not_approved")
    pending = {s["resource_id"]: s["id"] for s in alice.client.list_submits(status="on_review")}
    site_id = alice.client.find_site(site)["id"]
    flavor_id = alice.client.find_flavor(f"{site}/laptop")["id"]
    admin.client.approve_submit(pending[site_id])
    admin.client.approve_submit(pending[flavor_id])
    made = alice.client.upload_inference_result(measurement(), site, "laptop")
    assert made["flavor_id"] == flavor_id


def test_a_measurement_missing_fields_is_refused_with_every_violation(admin: Person) -> None:
    bad = measurement()
    del bad["latency_ms"]["p99"]
    bad["batch_size"] = 0
    with pytest.raises(ClientError) as refused:
        admin.client.upload_inference_result(bad, unique("lab"), "small")
    assert refused.value.code == "invalid_result"
    assert [v["path"] for v in refused.value.details["violations"]] == [
        "$.batch_size",
        "$.latency_ms",
    ]


def test_true_false_and_null_filters(admin: Person, charlie: Person) -> None:
    site = unique("lab")
    plain = {**measurement(), "quantized": False, "machine": {"cpu": {"count": 2}, "gpu": None}}
    quantized = {**measurement(), "quantized": True, "machine": {"cpu": {"count": 2}, "gpu": "T4"}}
    made = [admin.client.upload_inference_result(doc, site, "small") for doc in (plain, quantized)]
    scope = {"benchmark_id": made[0]["benchmark_id"], "site_id": made[0]["site_id"]}

    def found(*filters: str) -> list[str]:
        return [r["id"] for r in charlie.client.list_results(**scope, filters=list(filters))]

    assert found("quantized == true") == [made[1]["id"]]
    assert found("quantized == false") == [made[0]["id"]]
    assert found("machine.gpu == null") == [made[0]["id"]]
    assert found("machine.gpu == T4") == [made[1]["id"]]
    assert found("quantized == 'true'") == []
    assert found("quantized == 1") == []

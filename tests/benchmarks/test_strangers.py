"""Charlie, a stranger, on every benchmark endpoint: alice's resources on review do not exist
for him, and he changes nothing of hers. (Anonymous callers get 401 everywhere: the stranger
matrix, ``tests/api/test_stranger_matrix.py``, tries every endpoint.)"""

from __future__ import annotations

from typing import Any

import pytest
from tests.benchmarks.conftest import c_ray_results
from tests.benchmarks.strangers import WHEN, world
from tests.conftest import Person
from tests.helpers import assert_error


@pytest.fixture(scope="module")
def alices(alice: Person, admin: Person) -> dict[str, Any]:
    """Alice's things: some still on review, some approved, a result and a claim."""
    return dict(world(alice, admin))


def ids(items: Any) -> set[str]:
    return {item["id"] for item in items}


def test_charlie_cannot_see_or_change_alices_benchmark_on_review(
    charlie: Person, alices: dict[str, Any]
) -> None:
    bench = alices["review_benchmark"]
    assert_error(charlie.http.get(f"/benchmarks/{bench['id']}"), 404, "benchmark_not_found")
    patch = charlie.http.patch(f"/benchmarks/{bench['id']}", json={"description": "mine"})
    assert_error(patch, 404, "benchmark_not_found")
    assert bench["id"] not in ids(charlie.client.list_benchmarks())
    assert bench["id"] not in ids(
        charlie.client.list_benchmarks(docker_image=bench["docker_image"])
    )


def test_charlie_sees_but_cannot_change_alices_approved_benchmark(
    alice: Person, charlie: Person, alices: dict[str, Any]
) -> None:
    bench = alices["benchmark"]
    assert charlie.http.get(f"/benchmarks/{bench['id']}").json()["status"] == "approved"
    patch = charlie.http.patch(f"/benchmarks/{bench['id']}", json={"description": "mine"})
    assert_error(patch, 404, "benchmark_not_found")
    done = alice.http.patch(f"/benchmarks/{bench['id']}", json={"description": "c-ray 4K"})
    assert done.json()["description"] == "c-ray 4K"


def test_charlie_cannot_see_or_use_alices_site_on_review(
    charlie: Person, alices: dict[str, Any]
) -> None:
    site = alices["review_site"]
    assert_error(charlie.http.get(f"/sites/{site['id']}"), 404, "site_not_found")
    assert_error(charlie.http.patch(f"/sites/{site['id']}", json={"address": "x"}), 404)
    assert_error(charlie.http.get(f"/sites/{site['id']}/flavors"), 404, "site_not_found")
    made = charlie.http.post("/flavors", json={"site_id": site["id"], "name": "sneaky"})
    assert_error(made, 404, "site_not_found")
    assert site["id"] not in ids(charlie.client.list_sites())
    assert site["id"] not in ids(charlie.client.list_sites(name=site["name"]))
    flavor = alices["review_site_flavor"]
    assert_error(charlie.http.get(f"/flavors/{flavor['id']}"), 404, "flavor_not_found")


def test_charlie_cannot_change_alices_approved_site(
    charlie: Person, alice: Person, alices: dict[str, Any]
) -> None:
    site = alices["site"]
    assert_error(charlie.http.patch(f"/sites/{site['id']}", json={"address": "x"}), 404)
    assert (
        alice.http.patch(f"/sites/{site['id']}", json={"address": "Here"}).json()["address"]
        == "Here"
    )


def test_charlie_cannot_see_use_or_change_alices_flavor_on_review(
    charlie: Person, alices: dict[str, Any]
) -> None:
    flavor = alices["review_flavor"]
    assert_error(charlie.http.get(f"/flavors/{flavor['id']}"), 404, "flavor_not_found")
    assert_error(charlie.http.patch(f"/flavors/{flavor['id']}", json={"description": "x"}), 404)
    assert flavor["id"] not in ids(charlie.client.list_flavors(site_id=alices["site"]["id"]))
    listed = charlie.http.get(f"/sites/{alices['site']['id']}/flavors").json()["items"]
    assert ids(listed) == {alices["flavor"]["id"]}
    upload = charlie.http.post(
        "/benchmark-results",
        json={
            "json": c_ray_results()["cesga-1"],
            "benchmark_id": alices["benchmark"]["id"],
            "flavor_id": flavor["id"],
            "execution_datetime": WHEN,
        },
    )
    assert_error(upload, 404, "flavor_not_found")


def test_charlie_cannot_upload_against_a_benchmark_on_review(
    charlie: Person, alices: dict[str, Any]
) -> None:
    upload = charlie.http.post(
        "/benchmark-results",
        json={
            "json": c_ray_results()["cesga-1"],
            "benchmark_id": alices["review_benchmark"]["id"],
            "flavor_id": alices["flavor"]["id"],
            "execution_datetime": WHEN,
        },
    )
    assert_error(upload, 404, "benchmark_not_found")


def test_charlie_may_read_but_not_delete_alices_result(
    charlie: Person, alice: Person, alices: dict[str, Any]
) -> None:
    result_id = alices["result"]["id"]
    assert charlie.http.get(f"/benchmark-results/{result_id}").status_code == 200
    assert_error(charlie.http.delete(f"/benchmark-results/{result_id}"), 404, "result_not_found")
    assert alice.http.get(f"/benchmark-results/{result_id}").json()["deleted"] is False
    # include_deleted / include_claimed are admin-only: ignored for charlie.
    response = charlie.http.get(
        "/benchmark-results", params={"include_deleted": "true", "include_claimed": "true"}
    )
    assert all(not item["deleted"] and not item["claimed"] for item in response.json()["items"])


def test_charlie_cannot_see_alices_claim(charlie: Person, alices: dict[str, Any]) -> None:
    claim = alices["claim"]
    assert_error(charlie.http.get(f"/claims/{claim['id']}"), 404, "claim_not_found")
    assert claim["id"] not in ids(charlie.client.list_claims())


def test_charlie_cannot_claim_what_he_cannot_see(charlie: Person, alices: dict[str, Any]) -> None:
    for kind, key in [
        ("benchmark", "review_benchmark"),
        ("site", "review_site"),
        ("flavor", "review_flavor"),
    ]:
        response = charlie.http.post(
            "/claims",
            json={"resource_type": kind, "resource_id": alices[key]["id"], "message": "x"},
        )
        assert_error(response, 404, f"{kind}_not_found")


def test_charlie_cannot_see_or_decide_alices_submit(
    charlie: Person, alice: Person, alices: dict[str, Any]
) -> None:
    submit = alices["submit"]
    assert_error(charlie.http.get(f"/submits/{submit}"), 404, "submit_not_found")
    assert_error(charlie.http.post(f"/submits/{submit}/approve"), 404, "submit_not_found")
    assert_error(charlie.http.post(f"/submits/{submit}/reject"), 404, "submit_not_found")
    assert submit not in ids(charlie.client.list_submits())
    assert alice.http.get(f"/submits/{submit}").json()["status"] == "on_review"


def test_tags_are_public(charlie: Person, alices: dict[str, Any]) -> None:
    tag = alices["tag"]
    assert charlie.http.get(f"/tags/{tag['id']}").json()["name"] == tag["name"]
    assert ids(charlie.client.list_tags(name=tag["name"])) == {tag["id"]}
    assert_error(charlie.http.post("/tags", json={"name": tag["name"]}), 409, "tag_exists")
    assert_error(charlie.http.post("/tags", json={"name": "Not A Slug"}), 422, "invalid_name")
    missing = "00000000-0000-4000-8000-000000000001"
    assert_error(charlie.http.get(f"/tags/{missing}"), 404, "tag_not_found")

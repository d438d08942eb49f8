"""Curating the database, as the original allows: a result's tags changed after upload, a
result's claims, uploaders kept private, admins deleting what nothing references and editing
tags, admins told of every new submission, and a claim deleted in the admin restoring its
result."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from tests.benchmarks.conftest import c_ray_results, c_ray_schema
from tests.conftest import Person, Server
from tests.helpers import assert_error, unique

Committed = Callable[[], AbstractContextManager[None]]
WHEN = datetime(2023, 2, 1, tzinfo=UTC).isoformat()


@pytest.fixture(scope="module")
def flavor(admin: Person) -> dict[str, Any]:
    site = admin.client.create_site(unique("site"), "Karlsruhe")
    return admin.client.create_flavor(site["id"], "m1.large")


@pytest.fixture(scope="module")
def benchmark(admin: Person) -> dict[str, Any]:
    return admin.client.create_benchmark(unique("eosc/curated"), "1", c_ray_schema())


def upload(person: Person, benchmark: dict[str, Any], flavor: dict[str, Any], **kw: Any) -> Any:
    return person.client.upload_result(
        c_ray_results()["cesga-1"],
        benchmark_id=benchmark["id"],
        flavor_id=flavor["id"],
        execution_datetime=WHEN,
        **kw,
    )


def test_the_uploader_changes_a_results_tags(
    bob: Person, admin: Person, benchmark: dict[str, Any], flavor: dict[str, Any]
) -> None:
    old, new, other = (admin.client.create_tag(unique(t)) for t in ("old", "new", "other"))
    result = upload(bob, benchmark, flavor, tags_ids=[old["id"]])
    response = bob.http.put(
        f"/benchmark-results/{result['id']}/tags", json={"tags_ids": [new["id"], other["id"]]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["tags_names"] == sorted([new["name"], other["name"]])
    stored = bob.client.get_result(result["id"])["tags_ids"]
    assert set(stored) == {new["id"], other["id"]}
    by_admin = admin.http.put(f"/benchmark-results/{result['id']}/tags", json={"tags_ids": []})
    assert by_admin.json()["tags_ids"] == []


def test_result_tags_refuse_strangers_unknown_tags_and_unknown_keys(
    bob: Person, alice: Person, benchmark: dict[str, Any], flavor: dict[str, Any]
) -> None:
    result = upload(bob, benchmark, flavor)
    url = f"/benchmark-results/{result['id']}/tags"
    # alice sees the public result but may not change it: the same 404 as for nothing.
    assert_error(alice.http.put(url, json={"tags_ids": []}), 404, "result_not_found")
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(bob.http.put(url, json={"tags_ids": [missing]}), 422, "unknown_tag")
    assert_error(bob.http.put(url, json={"tags_ids": [], "tags": []}), 422, "validation_error")


def test_a_results_claims_are_for_its_uploader_and_admins(
    bob: Person,
    alice: Person,
    admin: Person,
    benchmark: dict[str, Any],
    flavor: dict[str, Any],
) -> None:
    result = upload(bob, benchmark, flavor)
    claim = alice.client.file_claim("result", result["id"], "the score is impossible")
    url = f"/benchmark-results/{result['id']}/claims"
    for person in (bob, admin):
        response = person.http.get(url)
        assert response.status_code == 200, response.text
        assert [c["id"] for c in response.json()["items"]] == [claim["id"]]
    assert_error(alice.http.get(url), 404, "result_not_found")
    assert_error(bob.http.get(url, params={"status": "x"}), 422, "unknown_parameter")


def test_the_uploader_is_shown_to_the_uploader_and_admins_only(
    bob: Person,
    charlie: Person,
    admin: Person,
    benchmark: dict[str, Any],
    flavor: dict[str, Any],
) -> None:
    result = upload(bob, benchmark, flavor)
    assert result["uploader"] == bob.username
    assert admin.client.get_result(result["id"])["uploader"] == bob.username
    assert charlie.client.get_result(result["id"])["uploader"] is None
    listed = charlie.client.list_results(benchmark_id=benchmark["id"])
    assert {item["uploader"] for item in listed} == {None}


def test_admins_delete_what_no_result_references(admin: Person) -> None:
    site = admin.client.create_site(unique("site"), "Lisbon")
    flavor = admin.client.create_flavor(site["id"], "m1.tiny")
    benchmark = admin.client.create_benchmark(unique("eosc/gone"), "1", c_ray_schema())
    tag = admin.client.create_tag(unique("gone"))
    response = admin.http.delete(f"/sites/{site['id']}")
    error = assert_error(response, 409, "in_use")
    assert error["details"]["references"] == {"flavors": 1}
    for path in (
        f"/flavors/{flavor['id']}",
        f"/sites/{site['id']}",
        f"/benchmarks/{benchmark['id']}",
        f"/tags/{tag['id']}",
    ):
        assert admin.http.delete(path).status_code == 204, path
        assert admin.http.get(path).status_code == 404, path


def test_a_referenced_benchmark_flavor_or_tag_is_409_naming_its_references(
    admin: Person, bob: Person, benchmark: dict[str, Any], flavor: dict[str, Any]
) -> None:
    tag = admin.client.create_tag(unique("used"))
    result = upload(bob, benchmark, flavor, tags_ids=[tag["id"]])
    bob.client.delete_result(result["id"])  # a deleted result's row is kept: still a reference
    for path in (f"/benchmarks/{benchmark['id']}", f"/flavors/{flavor['id']}"):
        error = assert_error(admin.http.delete(path), 409, "in_use")
        assert error["details"]["references"]["results"] >= 1
        assert "results" in error["message"]
    error = assert_error(admin.http.delete(f"/tags/{tag['id']}"), 409, "in_use")
    assert error["details"]["references"] == {"results": 1}


def test_only_admins_delete_and_edit_tags(alice: Person, admin: Person) -> None:
    site = alice.client.create_site(unique("site"), "Porto")
    assert_error(alice.http.delete(f"/sites/{site['id']}"), 403, "admin_only")
    tag = alice.client.create_tag(unique("mine"))
    assert_error(alice.http.delete(f"/tags/{tag['id']}"), 403, "admin_only")
    response = alice.http.patch(f"/tags/{tag['id']}", json={"description": "GPU runs"})
    assert_error(response, 403, "admin_only")
    response = admin.http.patch(f"/tags/{tag['id']}", json={"description": "GPU runs"})
    assert response.status_code == 200 and response.json()["description"] == "GPU runs"
    response = admin.http.patch(f"/tags/{tag['id']}", json={"description": "x", "name": "y"})
    assert_error(response, 422, "validation_error")


def notes_to(person: Person, committed: Committed) -> list[str]:
    from visionhub.benchmarks.models import Notification

    with committed():
        return list(
            Notification.objects.filter(user_id=person.user_id).values_list("subject", flat=True)
        )


def test_admins_are_told_of_every_new_submission(
    alice: Person,
    admin: Person,
    benchmark: dict[str, Any],
    flavor: dict[str, Any],
    committed: Committed,
) -> None:
    site = alice.client.create_site(unique("site"), "Madrid")
    result = upload(admin, benchmark, flavor)
    alice.client.file_claim("result", result["id"], "looks wrong")
    subjects = notes_to(admin, committed)
    assert f"VisionHub: site {site['name']} waits for review" in subjects
    assert any(s.startswith("VisionHub: claim ") and "waits for review" in s for s in subjects)
    assert not any("waits for review" in s for s in notes_to(alice, committed))


PASSWORD = "curator password 1"


def admin_session(server: Server, committed: Committed) -> httpx.Client:
    """A browser session of a new staff user on the Django admin."""
    from visionhub.accounts import services

    name = unique("curator")
    with committed():
        services.create_user(name, password=PASSWORD, staff=True)
    client = server.http(base_url=server.url, follow_redirects=False)
    page = client.get("/admin/login/")
    client.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": _csrf(page.text), "username": name, "password": PASSWORD},
        headers={"Referer": f"{server.url}/admin/login/"},
    )
    return client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_deleting_a_claim_in_the_admin_restores_the_result(
    server: Server,
    bob: Person,
    alice: Person,
    charlie: Person,
    benchmark: dict[str, Any],
    flavor: dict[str, Any],
    committed: Committed,
) -> None:
    result = upload(bob, benchmark, flavor)
    claim = alice.client.file_claim("result", result["id"], "copied from another run")
    assert_error(charlie.http.get(f"/benchmark-results/{result['id']}"), 404)
    session = admin_session(server, committed)
    url = f"/admin/benchmarks/claim/{claim['id']}/delete/"
    page = session.get(url)
    assert page.status_code == 200, page.text[:500]
    done = session.post(
        url,
        data={"csrfmiddlewaretoken": _csrf(page.text), "post": "yes"},
        headers={"Referer": f"{server.url}{url}"},
    )
    assert done.status_code == 302, done.text[:500]
    shown = charlie.http.get(f"/benchmark-results/{result['id']}")
    assert shown.status_code == 200 and shown.json()["claimed"] is False
    assert_error(alice.http.get(f"/claims/{claim['id']}"), 404, "claim_not_found")


def test_a_result_stays_hidden_while_another_claim_holds_it(
    server: Server,
    bob: Person,
    alice: Person,
    charlie: Person,
    benchmark: dict[str, Any],
    flavor: dict[str, Any],
    committed: Committed,
) -> None:
    result = upload(bob, benchmark, flavor)
    first = alice.client.file_claim("result", result["id"], "one")
    charlie_sees_nothing = charlie.http.get(f"/benchmark-results/{result['id']}")
    assert charlie_sees_nothing.status_code == 404
    from visionhub.benchmarks import services
    from visionhub.benchmarks.models import Claim

    with committed():
        bob_claim = services.file_claim(
            Claim.objects.get(pk=first["id"]).uploader,
            Claim.objects.get(pk=first["id"]).result,  # type: ignore[arg-type]
            message="two",
        )
        services.delete_claim(Claim.objects.get(pk=first["id"]))
    assert charlie.http.get(f"/benchmark-results/{result['id']}").status_code == 404
    with committed():
        services.delete_claim(bob_claim)
    assert charlie.http.get(f"/benchmark-results/{result['id']}").status_code == 200

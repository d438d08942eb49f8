"""Review: non-admins' benchmarks, sites and flavors wait on review, invisible to others until
an admin approves; claims hide a result until an admin upholds or dismisses them; every
decision is notified through the outbox, and the sender mails it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core import mail
from tests.benchmarks.conftest import c_ray_results, c_ray_schema
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error, unique

Committed = Callable[[], AbstractContextManager[None]]
NOW = datetime(2024, 5, 1, tzinfo=UTC).isoformat()


@pytest.fixture(scope="module", autouse=True)
def emails(alice: Person, bob: Person, charlie: Person, committed: Committed) -> None:
    from visionhub.accounts.models import User

    with committed():
        for person in (alice, bob, charlie):
            User.objects.filter(pk=person.user_id).update(email=f"{person.username}@example.org")


def submit_of(person: Person, resource_id: str) -> dict[str, Any]:
    found = [s for s in person.client.list_submits() if s["resource_id"] == resource_id]
    assert len(found) == 1, found
    return found[0]


def notifications_to(person: Person, committed: Committed) -> list[str]:
    from visionhub.benchmarks.models import Notification

    with committed():
        return list(
            Notification.objects.filter(user_id=person.user_id)
            .order_by("id")
            .values_list("subject", flat=True)
        )


def send_outbox(committed: Committed) -> Any:
    from visionhub.benchmarks.notifications import send_pending_notifications

    with committed():
        return send_pending_notifications()


def admins_without_email(committed: Committed) -> int:
    """Administrators are told of every submission; those without an address are skipped."""
    from visionhub.accounts.models import User

    with committed():
        return User.objects.filter(is_staff=True, is_active=True, email="").count()


def new_benchmark(person: Person) -> dict[str, Any]:
    return person.client.create_benchmark(unique("team/c-ray"), "1.0", c_ray_schema())


def test_a_non_admins_benchmark_waits_on_review_invisible_to_others(
    alice: Person, charlie: Person, admin: Person
) -> None:
    made = new_benchmark(alice)
    assert made["status"] == "on_review"
    assert made["uploader"] == alice.username
    path = f"/benchmarks/{made['id']}"
    assert alice.http.get(path).status_code == 200
    assert admin.http.get(path).json()["status"] == "on_review"
    assert_error(charlie.http.get(path), 404, "benchmark_not_found")
    assert made["id"] not in {b["id"] for b in charlie.client.list_benchmarks()}
    assert made["id"] in {b["id"] for b in alice.client.list_benchmarks()}
    assert made["id"] in {b["id"] for b in admin.client.list_benchmarks(status="on_review")}
    submit = submit_of(alice, made["id"])
    assert (submit["resource_type"], submit["status"]) == ("benchmark", "on_review")
    assert made["id"] not in {s["resource_id"] for s in charlie.client.list_submits()}


def test_an_admins_benchmark_is_approved_at_once_without_a_submit(admin: Person) -> None:
    made = new_benchmark(admin)
    assert made["status"] == "approved"
    assert made["id"] not in {s["resource_id"] for s in admin.client.list_submits()}


def test_only_admins_approve_and_the_uploader_is_notified(
    alice: Person, charlie: Person, admin: Person, committed: Committed
) -> None:
    made = new_benchmark(alice)
    submit = submit_of(alice, made["id"])
    url = f"/submits/{submit['id']}/approve"
    assert_error(charlie.http.post(url), 404, "submit_not_found")
    assert_error(alice.http.post(url), 403, "admin_only")
    decided = admin.http.post(url, json={"message": "looks right"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    assert decided.json()["reviewer"] == admin.username
    assert charlie.http.get(f"/benchmarks/{made['id']}").json()["status"] == "approved"
    assert_error(admin.http.post(url), 409, "already_reviewed")
    assert_error(admin.http.post(f"/submits/{submit['id']}/reject"), 409, "already_reviewed")
    assert f"VisionHub: your benchmark {made['name']} was approved" in notifications_to(
        alice, committed
    )


def test_a_rejected_benchmark_stays_invisible_and_frees_its_name(
    alice: Person, bob: Person, charlie: Person, admin: Person, committed: Committed
) -> None:
    made = new_benchmark(alice)
    submit = submit_of(alice, made["id"])
    rejected = admin.client.reject_submit(submit["id"], "not reproducible")
    assert rejected["status"] == "rejected"
    assert alice.http.get(f"/benchmarks/{made['id']}").json()["status"] == "rejected"
    assert_error(charlie.http.get(f"/benchmarks/{made['id']}"), 404)
    again = bob.client.create_benchmark(made["docker_image"], made["docker_tag"], c_ray_schema())
    assert again["status"] == "on_review"
    assert f"VisionHub: your benchmark {made['name']} was rejected" in notifications_to(
        alice, committed
    )


def test_a_benchmark_name_is_unique_while_not_rejected(alice: Person, bob: Person) -> None:
    made = new_benchmark(alice)
    response = bob.http.post(
        "/benchmarks",
        json={
            "docker_image": made["docker_image"],
            "docker_tag": made["docker_tag"],
            "json_schema": {"type": "object"},
        },
    )
    assert_error(response, 409, "benchmark_exists")


def test_an_invalid_json_schema_is_422_with_every_problem(alice: Person) -> None:
    response = alice.http.post(
        "/benchmarks",
        json={
            "docker_image": unique("bad/schema"),
            "docker_tag": "1",
            "json_schema": {"type": "objekt", "properties": {"a": {"minimum": "0"}}},
        },
    )
    error = assert_error(response, 422, "invalid_json_schema")
    assert [p["path"] for p in error["details"]["problems"]] == [
        "$.properties.a.minimum",
        "$.type",
    ]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("docker_image", "Not An Image", "invalid_docker_image"),
        ("docker_tag", "-bad", "invalid_docker_tag"),
        ("url", "javascript:alert(1)", "invalid_url"),
    ],
)
def test_benchmark_fields_are_checked(alice: Person, field: str, value: str, code: str) -> None:
    body = {"docker_image": unique("ok/image"), "docker_tag": "1", "json_schema": {}, field: value}
    assert_error(alice.http.post("/benchmarks", json=body), 422, code)


def test_sites_and_flavors_need_approval_and_a_flavor_needs_its_site_first(
    alice: Person, charlie: Person, admin: Person
) -> None:
    site = alice.client.create_site(unique("cloud"), "Santander, Spain")
    flavor = alice.client.create_flavor(site["id"], "m1.small")
    assert (site["status"], flavor["status"]) == ("on_review", "on_review")
    assert_error(charlie.http.get(f"/flavors/{flavor['id']}"), 404, "flavor_not_found")
    assert_error(charlie.http.get(f"/sites/{site['id']}/flavors"), 404, "site_not_found")
    flavor_submit = submit_of(alice, flavor["id"])
    response = admin.http.post(f"/submits/{flavor_submit['id']}/approve")
    assert_error(response, 409, "site_not_approved")
    admin.client.approve_submit(submit_of(alice, site["id"])["id"])
    # The site is public now, but its flavor is still on review.
    assert charlie.http.get(f"/sites/{site['id']}").status_code == 200
    assert charlie.http.get(f"/sites/{site['id']}/flavors").json()["items"] == []
    admin.client.approve_submit(flavor_submit["id"])
    listed = charlie.http.get(f"/sites/{site['id']}/flavors").json()["items"]
    assert [f["id"] for f in listed] == [flavor["id"]]


def approved_world(admin: Person) -> tuple[dict[str, Any], dict[str, Any]]:
    bench = admin.client.create_benchmark(unique("eosc/c-ray"), "1.2.0", c_ray_schema())
    site = admin.client.create_site(unique("site"), "Bratislava, Slovakia")
    flavor = admin.client.create_flavor(site["id"], "m1.large")
    return bench, flavor


def upload(
    person: Person, bench: dict[str, Any], flavor: dict[str, Any], stem: str = "cesga-1"
) -> dict[str, Any]:
    return person.client.upload_result(
        c_ray_results()[stem],
        benchmark_id=bench["id"],
        flavor_id=flavor["id"],
        execution_datetime=NOW,
    )


def visible_ids(person: Person, bench: dict[str, Any], **params: Any) -> set[str]:
    return {r["id"] for r in person.client.list_results(benchmark_id=bench["id"], **params)}


def test_a_result_may_only_use_an_approved_benchmark_and_flavor(
    alice: Person, admin: Person
) -> None:
    own = new_benchmark(alice)
    site = alice.client.create_site(unique("own-site"), "Lisbon")
    own_flavor = alice.client.create_flavor(site["id"], "svc1.s")
    bench, flavor = approved_world(admin)
    body = {"json": c_ray_results()["cesga-1"], "execution_datetime": NOW}
    cases = [
        ({"benchmark_id": own["id"], "flavor_id": flavor["id"]}, "benchmark_not_approved"),
        ({"benchmark_id": bench["id"], "flavor_id": own_flavor["id"]}, "flavor_not_approved"),
    ]
    for ids, code in cases:
        assert_error(alice.http.post("/benchmark-results", json={**body, **ids}), 409, code)
    # An approved flavor on a site that is not approved.
    admin_flavor = admin.client.create_flavor(site["id"], "svc2.m")
    response = alice.http.post(
        "/benchmark-results",
        json={**body, "benchmark_id": bench["id"], "flavor_id": admin_flavor["id"]},
    )
    assert_error(response, 409, "site_not_approved")


def test_a_claim_hides_a_result_until_an_admin_dismisses_it(
    alice: Person, bob: Person, charlie: Person, admin: Person, committed: Committed
) -> None:
    bench, flavor = approved_world(admin)
    result = upload(alice, bench, flavor)
    claim = charlie.client.file_claim("result", result["id"], "this score is too good")
    assert (claim["status"], claim["resource_type"]) == ("on_review", "result")
    assert result["id"] not in visible_ids(bob, bench)
    assert result["id"] not in visible_ids(charlie, bench)
    assert_error(bob.http.get(f"/benchmark-results/{result['id']}"), 404, "result_not_found")
    # Its uploader and the admins still see it.
    assert alice.client.get_result(result["id"])["claimed"] is True
    assert result["id"] in visible_ids(admin, bench, include_claimed="true")
    assert result["id"] not in visible_ids(admin, bench)
    assert any("claim was filed" in s for s in notifications_to(alice, committed))

    submit = submit_of(admin, claim["id"])
    assert submit["resource_type"] == "claim"
    admin.client.reject_submit(submit["id"], "the score is plausible")
    assert result["id"] in visible_ids(bob, bench)
    assert charlie.http.get(f"/claims/{claim['id']}").json()["status"] == "rejected"
    assert any("dismissed" in s for s in notifications_to(charlie, committed))
    assert any("dismissed" in s for s in notifications_to(alice, committed))


def test_an_upheld_claim_keeps_the_result_hidden(
    alice: Person, bob: Person, charlie: Person, admin: Person
) -> None:
    bench, flavor = approved_world(admin)
    result = upload(alice, bench, flavor)
    first = charlie.client.file_claim("result", result["id"], "fake")
    # Hidden now: bob cannot even name it; an admin still can.
    assert_error(
        bob.http.post(
            "/claims", json={"resource_type": "result", "resource_id": result["id"], "message": "x"}
        ),
        404,
        "result_not_found",
    )
    second = admin.client.file_claim("result", result["id"], "also fake")
    admin.client.approve_submit(submit_of(admin, first["id"])["id"])
    # Dismissing the other claim does not bring back a result an upheld claim hides.
    admin.client.reject_submit(submit_of(admin, second["id"])["id"])
    assert result["id"] not in visible_ids(bob, bench)
    assert alice.client.get_result(result["id"])["claimed"] is True


def test_while_two_claims_are_open_dismissing_one_keeps_the_result_hidden(
    alice: Person, bob: Person, charlie: Person, admin: Person
) -> None:
    bench, flavor = approved_world(admin)
    result = upload(alice, bench, flavor)
    first = charlie.client.file_claim("result", result["id"], "fake")
    second = admin.client.file_claim("result", result["id"], "fake too")
    admin.client.reject_submit(submit_of(admin, first["id"])["id"])
    assert result["id"] not in visible_ids(charlie, bench)
    admin.client.reject_submit(submit_of(admin, second["id"])["id"])
    assert result["id"] in visible_ids(charlie, bench)


def test_an_upheld_claim_against_a_benchmark_rejects_it(
    alice: Person, charlie: Person, admin: Person
) -> None:
    bench = new_benchmark(alice)
    admin.client.approve_submit(submit_of(alice, bench["id"])["id"])
    claim = charlie.client.file_claim("benchmark", bench["id"], "the image is malware")
    assert charlie.http.get(f"/benchmarks/{bench['id']}").status_code == 200
    admin.client.approve_submit(submit_of(admin, claim["id"])["id"])
    assert_error(charlie.http.get(f"/benchmarks/{bench['id']}"), 404)
    assert alice.http.get(f"/benchmarks/{bench['id']}").json()["status"] == "rejected"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"resource_type": "dataset", "message": "x"}, 422, "invalid_resource_type"),
        ({"resource_type": "benchmark", "message": "  "}, 422, "invalid_field"),
        ({"resource_type": "site", "message": "x"}, 404, "site_not_found"),
    ],
)
def test_bad_claims_are_refused(
    charlie: Person, admin: Person, body: dict[str, str], status: int, code: str
) -> None:
    bench = new_benchmark(admin)
    response = charlie.http.post("/claims", json={"resource_id": bench["id"], **body})
    assert_error(response, status, code)


def test_the_sender_mails_each_notification_once(
    alice: Person, admin: Person, committed: Committed
) -> None:
    send_outbox(committed)  # whatever earlier tests queued
    mail.outbox.clear()
    made = new_benchmark(alice)
    admin.client.approve_submit(submit_of(alice, made["id"])["id"])
    report = send_outbox(committed)
    assert report.sent >= 1
    sent = [m for m in mail.outbox if m.to == [f"{alice.username}@example.org"]]
    assert [m.subject for m in sent] == [f"VisionHub: your benchmark {made['name']} was approved"]
    assert "approved your benchmark" in sent[0].body
    mail.outbox.clear()
    assert send_outbox(committed).sent == 0
    assert mail.outbox == []


def test_users_without_an_email_address_are_skipped_for_good(
    make_person: Callable[..., Person], admin: Person, committed: Committed
) -> None:
    from visionhub.benchmarks.models import Notification

    send_outbox(committed)
    nomail = make_person("nomail")
    made = new_benchmark(nomail)
    admin.client.approve_submit(submit_of(nomail, made["id"])["id"])
    report = send_outbox(committed)
    assert report.skipped == 1 + admins_without_email(committed)
    with committed():
        note = Notification.objects.get(user_id=nomail.user_id)
    assert note.sent_at is None and note.error == "the user has no e-mail address"
    assert send_outbox(committed).skipped == 0


def test_the_notifications_send_command_uses_the_configured_backend(
    server: LiveServer, alice: Person, admin: Person, committed: Committed
) -> None:
    send_outbox(committed)
    made = new_benchmark(alice)
    admin.client.approve_submit(submit_of(alice, made["id"])["id"])
    out = server.cli_process("notifications", "send").stdout
    assert f"sent 1, failed 0, skipped {admins_without_email(committed)}" in out
    assert f"your benchmark {made['name']} was approved" in out  # the console backend

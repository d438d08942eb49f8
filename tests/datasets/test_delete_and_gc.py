"""Deleting a dataset takes everything in it; ``visionhub gc`` then reclaims its blobs."""

from __future__ import annotations

from django.conf import settings
from tests.conftest import LiveServer, Person
from tests.datasets.helpers import (
    add_annotations,
    new_category,
    new_dataset,
    new_label_set,
    upload,
)
from tests.factories import make_noise_image, make_png
from tests.helpers import assert_error


def blob_exists(sha256: str) -> bool:
    return (settings.VISIONHUB_HOME / "blobs" / sha256[:2] / sha256[2:4] / sha256).is_file()


def test_deleting_a_dataset_cascades_and_gc_reclaims_only_unshared_blobs(
    server: LiveServer, alice: Person, bob: Person
) -> None:
    doomed = new_dataset(alice)["id"]
    kept = new_dataset(alice)["id"]
    shared_bytes = make_noise_image(30, 20, seed=4000)
    only = upload(alice, doomed, make_noise_image(30, 20, seed=4001))
    shared = upload(alice, doomed, shared_bytes)
    upload(alice, kept, shared_bytes)
    gt = new_label_set(alice, doomed)
    cat = new_category(alice, doomed, "cat")
    add_annotations(
        alice, doomed, [{"image_id": only["id"], "label_set_id": gt, "category_id": cat}]
    )
    note = alice.http.get(f"/images/{only['id']}/annotations").json()["items"][0]["id"]
    alice.http.post(f"/annotations/{note}/alpha", files={"file": ("a.png", make_png(30, 20))})
    alice.http.post(f"/datasets/{doomed}/members", json={"username": bob.username})
    alpha = alice.http.get(f"/annotations/{note}").json()["alpha_sha256"]
    thumbnail = alice.http.get(f"/images/{only['id']}").json()["thumbnail_sha256"]

    assert alice.http.delete(f"/datasets/{doomed}").status_code == 204

    for path in (
        f"/datasets/{doomed}",
        f"/images/{only['id']}",
        f"/images/{only['id']}/content",
        f"/annotations/{note}",
        f"/label-sets/{gt}",
        f"/categories/{cat}",
    ):
        assert_error(alice.http.get(path), 404)
    assert_error(bob.http.get(f"/datasets/{doomed}"), 404)
    assert all(blob_exists(s) for s in (only["sha256"], alpha, thumbnail))

    dry = server.cli("gc", "--dry-run", "--grace-seconds", "0")
    assert only["sha256"] in dry.stdout and blob_exists(only["sha256"])
    server.cli("gc", "--grace-seconds", "0")

    assert not any(blob_exists(s) for s in (only["sha256"], alpha, thumbnail))
    assert blob_exists(shared["sha256"])
    assert (
        alice.http.get(f"/datasets/{kept}/images").json()["items"][0]["sha256"]
        == (shared["sha256"])
    )


def test_gc_keeps_recent_blobs_by_default(server: LiveServer, alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    image = upload(alice, dataset, make_noise_image(30, 20, seed=4100))
    assert alice.http.delete(f"/datasets/{dataset}").status_code == 204

    server.cli("gc")

    assert blob_exists(image["sha256"])  # within the grace period: maybe an upload in flight


def test_staged_uploads_survive_gc_until_they_are_added(server: LiveServer, alice: Person) -> None:
    dataset = new_dataset(alice)["id"]
    staged = alice.http.post(
        f"/datasets/{dataset}/uploads",
        files={"file": ("x.png", make_noise_image(20, 20, seed=4200))},
    ).json()["sha256"]

    server.cli("gc", "--grace-seconds", "0")

    assert blob_exists(staged)
    added = alice.http.post(
        f"/datasets/{dataset}/images/from-hashes", json={"images": [{"sha256": staged}]}
    ).json()
    assert [i["sha256"] for i in added["images"]] == [staged]
    assert alice.http.get(f"/images/{added['images'][0]['id']}/content").status_code == 200

"""Lineage: pretrained parents with their trainings and datasets, live and as snapshotted."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from tests.conftest import Person
from tests.helpers import assert_error, unique
from tests.registry.support import create_model, push_ok

from visionhub.accounts.models import User
from visionhub.datasets.models import Dataset

Committed = Callable[[], AbstractContextManager[None]]


def _dataset(committed: Committed, person: Person) -> tuple[int, str]:
    name = unique("ds")
    with committed():
        dataset = Dataset.objects.create(
            owner=User.objects.get(pk=person.user_id), name=name, description="chest x-rays"
        )
    return dataset.pk, name


def _finished_training(person: Person, **metrics: Any) -> int:
    tid: int = person.client.create_training(unique("train"))["id"]
    person.client.report_progress(tid, 0.5)  # starts it
    person.client.report_progress(tid, 1.0, "FINISHED", **metrics)
    return tid


def _chain(person: Person, model: str, version: int) -> list[dict[str, Any]]:
    response = person.http.get(f"/models/{model}/versions/{version}/lineage")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model"], body["version"]) == (model, version)
    chain: list[dict[str, Any]] = body["chain"]
    return chain


def test_the_lineage_follows_pretrained_parents_with_trainings_and_datasets(
    alice: Person, committed: Committed
) -> None:
    _, base_ds_name = _dataset(committed, alice)
    fine_ds, _ = _dataset(committed, alice)
    base, fine, tuned = create_model(alice), create_model(alice), create_model(alice)
    t1 = _finished_training(alice, accuracy=0.8)
    push_ok(alice, base, {"model.onnx": b"base"}, training=t1, dataset=base_ds_name)
    t2 = alice.client.create_training("fine")["id"]
    alice.client.report_progress(t2, 0.9, accuracy=0.85)
    made = push_ok(
        alice, fine, {"model.onnx": b"fine"}, pretrained=f"{base}:1", training=t2, dataset=fine_ds
    )
    assert (made["pretrained"], made["training"], made["dataset"]) == (f"{base}:1", t2, fine_ds)
    assert made["training_snapshot"]["progress"] == 0.9
    assert made["dataset_snapshot"]["name"] != base_ds_name
    push_ok(alice, tuned, {"model.onnx": b"tuned"}, pretrained=f"{fine}:1")

    # The training goes on after the version was made: live and snapshot differ.
    alice.client.report_progress(t2, 1.0, "FINISHED", accuracy=0.9)
    chain = _chain(alice, tuned, 1)
    assert [(c["model"], c["version"], c["source"]) for c in chain] == [
        (tuned, 1, "live"),
        (fine, 1, "live"),
        (base, 1, "live"),
    ]
    assert chain[0]["training"] is None
    assert chain[1]["training"]["state"] == "FINISHED"
    assert chain[1]["training_snapshot"]["state"] == "RUNNING"
    assert chain[1]["training_snapshot"]["details"] == {"accuracy": 0.85}
    assert chain[1]["dataset"]["id"] == fine_ds
    assert chain[2]["training"]["details"] == {"accuracy": 0.8}
    assert chain[2]["dataset_snapshot"]["name"] == base_ds_name
    assert chain[2]["dataset_snapshot"]["description"] == "chest x-rays"
    assert chain[2]["files"][0]["name"] == "model.onnx"


def test_a_deleted_ancestor_is_still_shown_from_the_snapshot(
    alice: Person, committed: Committed
) -> None:
    ds, _ = _dataset(committed, alice)
    base, child = create_model(alice), create_model(alice)
    tid = _finished_training(alice, loss=0.1)
    push_ok(alice, base, {"model.onnx": b"gone soon"}, training=tid, dataset=ds)
    push_ok(alice, child, {"model.onnx": b"child"}, pretrained=f"{base}:1")
    assert alice.http.delete(f"/models/{base}").status_code == 204
    assert alice.http.delete(f"/trainings/{tid}").status_code == 204
    with committed():
        Dataset.objects.filter(pk=ds).delete()

    version = alice.http.get(f"/models/{child}/versions/1").json()
    assert version["pretrained"] == f"{base}:1"
    chain = _chain(alice, child, 1)
    assert [(c["model"], c["source"]) for c in chain] == [(child, "live"), (base, "snapshot")]
    assert chain[1]["training"] is None
    assert chain[1]["training_snapshot"]["details"] == {"loss": 0.1}
    assert chain[1]["dataset_snapshot"]["id"] == ds


def test_an_ancestor_the_viewer_cannot_read_is_named_but_not_shown(
    alice: Person, bob: Person
) -> None:
    private = create_model(alice)
    push_ok(alice, private, {"model.onnx": b"alice's private base"})
    alice.http.post(f"/models/{private}/members", json={"username": bob.username})
    derived = create_model(bob)
    push_ok(bob, derived, {"model.onnx": b"bob's"}, pretrained=f"{alice.username}/{private}:1")
    alice.http.delete(f"/models/{private}/members/{bob.username}")
    chain = _chain(bob, derived, 1)
    assert chain[1] == {
        **chain[1],
        "model": private,
        "version": 1,
        "accessible": False,
        "files": None,
        "training": None,
    }


def test_a_dataset_the_uploader_cannot_read_is_refused(
    alice: Person, charlie: Person, committed: Committed
) -> None:
    ds, name = _dataset(committed, charlie)
    model = create_model(alice)
    response = alice.http.post(
        f"/models/{model}/versions",
        data={"dataset": str(ds)},
        files=[("files", ("model.onnx", b"w", "application/octet-stream"))],
    )
    assert_error(response, 404, "dataset_not_found")
    response = alice.http.post(
        f"/models/{model}/versions",
        data={"dataset": f"{charlie.username}/{name}"},
        files=[("files", ("model.onnx", b"w", "application/octet-stream"))],
    )
    assert_error(response, 404, "dataset_not_found")

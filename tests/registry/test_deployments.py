"""Deployments: named routes to a model version, rollouts with history, members."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error, unique
from tests.registry.support import create_model, push_ok


@pytest.fixture(scope="module")
def released(alice: Person) -> str:
    """A model of alice's with versions 1, 2 and 3."""
    model = create_model(alice)
    for i in range(3):
        push_ok(alice, model, {"model.onnx": f"deploy weights {i}".encode()})
    return model


def _deploy(person: Person, model: str, version: Any = 1, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("dep"), "model": model, "version": version, **fields}
    response = person.http.post("/deployments", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_deployment_serves_a_version_with_default_replication(
    alice: Person, released: str
) -> None:
    body = _deploy(alice, released, 2)
    assert (body["model"], body["version"], body["owner"]) == (released, 2, alice.username)
    assert (body["replication"], body["quorum"], body["is_active"]) == (1, 1, True)
    assert body["model_version_id"] > 0
    assert alice.http.get(f"/deployments/{body['name']}").json() == body


@pytest.mark.parametrize(
    ("replication", "quorum", "code"),
    [(3, 4, "invalid_quorum"), (3, 0, "invalid_quorum"), (0, 1, "invalid_replication")],
)
def test_quorum_must_lie_between_1_and_the_replication(
    alice: Person, released: str, replication: int, quorum: int, code: str
) -> None:
    response = alice.http.post(
        "/deployments",
        json={
            "name": unique("dep"),
            "model": released,
            "version": 1,
            "replication": replication,
            "quorum": quorum,
        },
    )
    assert_error(response, 422, code)


def test_names_are_unique_server_wide(alice: Person, bob: Person, released: str) -> None:
    name = _deploy(alice, released)["name"]
    own = create_model(bob)
    push_ok(bob, own, {"model.onnx": b"bob's"})
    response = bob.http.post("/deployments", json={"name": name, "model": own, "version": 1})
    assert_error(response, 409, "deployment_exists")


def test_a_rollout_changes_the_version_and_is_kept_in_the_history(
    alice: Person, released: str
) -> None:
    name = _deploy(alice, released, 1, replication=3, quorum=2)["name"]
    rolled = alice.http.patch(f"/deployments/{name}", json={"version": 3})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["version"] == 3
    alice.http.patch(f"/deployments/{name}", json={"version": "latest", "quorum": 3})
    alice.http.patch(f"/deployments/{name}", json={"details": {"note": "no history"}})
    history = alice.http.get(f"/deployments/{name}/history").json()["items"]
    assert [(h["model_ref"], h["replication"], h["quorum"]) for h in history] == [
        (f"{released}:3", 3, 3),
        (f"{released}:3", 3, 2),
        (f"{released}:1", 3, 2),
    ]
    assert {h["changed_by"] for h in history} == {alice.username}
    assert_error(
        alice.http.patch(f"/deployments/{name}", json={"quorum": 4}), 422, "invalid_quorum"
    )
    assert_error(
        alice.http.patch(f"/deployments/{name}", json={"version": 99}), 404, "version_not_found"
    )


def test_a_deployed_version_cannot_be_deleted(alice: Person, released: str) -> None:
    _deploy(alice, released, 2)
    assert_error(alice.http.delete(f"/models/{released}/versions/2"), 409, "version_in_use")
    assert_error(alice.http.delete(f"/models/{released}"), 409, "model_in_use")
    assert alice.http.get(f"/models/{released}/versions/2").status_code == 200


def test_history_outlives_a_deleted_version(alice: Person) -> None:
    model = create_model(alice)
    push_ok(alice, model, {"model.onnx": b"old"})
    push_ok(alice, model, {"model.onnx": b"new"})
    name = _deploy(alice, model, 1)["name"]
    alice.http.patch(f"/deployments/{name}", json={"version": 2})
    assert alice.http.delete(f"/models/{model}/versions/1").status_code == 204
    history = alice.http.get(f"/deployments/{name}/history").json()["items"]
    assert [h["model_ref"] for h in history] == [f"{model}:2", f"{model}:1"]
    assert history[1]["model_version_id"] is None


def test_a_member_may_use_a_deployment_and_a_writer_may_roll_it_out(
    alice: Person, bob: Person, released: str
) -> None:
    name = _deploy(alice, released)["name"]
    assert bob.http.get(f"/deployments/{name}").status_code == 404
    alice.http.post(f"/deployments/{name}/members", json={"username": bob.username})
    assert bob.http.get(f"/deployments/{name}").status_code == 200
    assert name in [d["name"] for d in bob.http.get("/deployments").json()["items"]]
    assert_error(bob.http.patch(f"/deployments/{name}", json={"version": 2}), 403, "read_only")
    alice.http.post(
        f"/deployments/{name}/members", json={"username": bob.username, "role": "write"}
    )
    # Bob cannot read alice's model, so he cannot pick its versions...
    assert_error(bob.http.patch(f"/deployments/{name}", json={"version": 2}), 404)
    alice.http.post(f"/models/{released}/members", json={"username": bob.username})
    # ...until he may.
    assert bob.http.patch(f"/deployments/{name}", json={"version": 2}).json()["version"] == 2
    assert_error(bob.http.delete(f"/deployments/{name}"), 403, "owner_only")


def test_a_deployment_can_use_a_shared_model_named_with_its_owner(
    alice: Person, bob: Person, released: str
) -> None:
    alice.http.post(f"/models/{released}/members", json={"username": bob.username})
    body = _deploy(bob, f"{alice.username}/{released}", 1)
    assert (body["model"], body["model_owner"], body["owner"]) == (
        released,
        alice.username,
        bob.username,
    )


def test_the_client_and_the_cli_deploy_and_roll_out(
    server: LiveServer, alice: Person, released: str
) -> None:
    name = unique("cli-dep")
    env = {"VISIONHUB_TOKEN": alice.token}
    out = server.cli(
        "deploy", name, "--model", f"{released}:1", "--replication", "2", "--quorum", "2", env=env
    )
    assert f"serves {released}:1" in out.stdout
    out = server.cli("deploy", name, "--model", f"{released}:2", env=env)
    assert f"serves {released}:2 (replication 2, quorum 2)" in out.stdout
    rolled = alice.client.deploy(name, released, 3)
    assert rolled["version"] == 3
    assert [h["model_ref"] for h in alice.client.deployment_history(name)] == [
        f"{released}:3",
        f"{released}:2",
        f"{released}:1",
    ]
    bad = server.cli("deploy", name, "--model", "no-colon", env=env, check=False)
    assert bad.returncode != 0


def test_a_deployment_can_be_deactivated_and_deleted(alice: Person, released: str) -> None:
    name = _deploy(alice, released)["name"]
    assert (
        alice.http.patch(f"/deployments/{name}", json={"is_active": False}).json()["is_active"]
        is False
    )
    assert alice.http.delete(f"/deployments/{name}").status_code == 204
    assert_error(alice.http.get(f"/deployments/{name}"), 404, "deployment_not_found")


def test_a_stranger_gets_404_on_every_deployment_endpoint(
    alice: Person, charlie: Person, released: str
) -> None:
    name = _deploy(alice, released)["name"]
    for response in [
        charlie.http.get(f"/deployments/{name}"),
        charlie.http.patch(f"/deployments/{name}", json={"version": 2}),
        charlie.http.delete(f"/deployments/{name}"),
        charlie.http.get(f"/deployments/{name}/history"),
        charlie.http.get(f"/deployments/{name}/members"),
        charlie.http.post(f"/deployments/{name}/members", json={"username": charlie.username}),
        charlie.http.delete(f"/deployments/{name}/members/{charlie.username}"),
    ]:
        assert_error(response, 404, "deployment_not_found")
    assert name not in [d["name"] for d in charlie.http.get("/deployments").json()["items"]]
    # Nor can a stranger deploy someone else's model.
    response = charlie.http.post(
        "/deployments",
        json={"name": unique("dep"), "model": f"{alice.username}/{released}", "version": 1},
    )
    assert_error(response, 404, "model_not_found")

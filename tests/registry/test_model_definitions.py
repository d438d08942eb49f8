"""Model definitions: create, validate, list, edit (all but the name), members, delete."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Person
from tests.helpers import assert_error, unique
from tests.registry.support import INPUT, create_model


def test_a_definition_is_created_with_a_complete_input_spec_and_default_file(alice: Person) -> None:
    name = unique("resnet")
    response = alice.http.post(
        "/models",
        json={"name": name, "classes": ["a", "b"], "input": {"width": 32, "height": 16}},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == name
    assert body["owner"] == alice.username
    assert body["task"] == "classification"
    assert body["input"] == {
        "width": 32,
        "height": 16,
        "channels": 3,
        "layout": "NCHW",
        "scale": pytest.approx(1 / 255),
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "output": "logits",
        "resize": "stretch",
        "pad": [114.0, 114.0, 114.0],
    }
    assert body["output"] == {}
    assert body["files"] == [
        {"name": "model.onnx", "description": "ONNX model", "required": True, "max_mb": None}
    ]
    assert body["latest_version"] is None


@pytest.mark.parametrize(
    ("input_spec", "code"),
    [
        ({"width": 8, "height": 8, "channels": 1, "mean": [0.5, 0.5]}, "invalid_input_spec"),
        ({"width": 8, "height": 8, "std": [1, 0, 1]}, "invalid_input_spec"),
        ({"width": 8, "height": 8, "channels": 2}, "invalid_input_spec"),
        ({"width": 8, "height": 8, "layout": "CHW"}, "invalid_input_spec"),
        ({"width": 8, "height": 8, "output": "softmax"}, "invalid_input_spec"),
        ({"width": 0, "height": 8}, "invalid_input_spec"),
        ({"width": 8, "height": 8, "scale": 0}, "invalid_input_spec"),
        ({"height": 8}, "validation_error"),
    ],
)
def test_a_bad_input_spec_is_refused(alice: Person, input_spec: dict[str, Any], code: str) -> None:
    response = alice.http.post("/models", json={"name": unique("bad"), "input": input_spec})
    assert_error(response, 422, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"files": [{"name": "../etc/passwd"}]}, "invalid_file_spec"),
        ({"files": [{"name": "a.onnx"}, {"name": "a.onnx"}]}, "invalid_file_spec"),
        ({"files": [{"name": "a.onnx", "max_mb": -1}]}, "invalid_file_spec"),
        ({"classes": ["a", "a"]}, "invalid_classes"),
        ({"task": "keypoints"}, "invalid_task"),
        ({"name": "Not A Slug"}, "invalid_name"),
    ],
)
def test_bad_definitions_are_refused(alice: Person, body: dict[str, Any], code: str) -> None:
    response = alice.http.post("/models", json={"name": unique("bad"), "input": INPUT, **body})
    assert_error(response, 422, code)


def test_a_name_is_unique_per_owner_but_not_across_owners(alice: Person, bob: Person) -> None:
    name = create_model(alice)
    again = alice.http.post("/models", json={"name": name, "input": INPUT})
    assert_error(again, 409, "model_exists")
    assert bob.http.post("/models", json={"name": name, "input": INPUT}).status_code == 201


def test_everything_but_the_name_can_be_edited(alice: Person) -> None:
    name = create_model(alice)
    response = alice.http.patch(
        f"/models/{name}",
        json={
            "description": "v2",
            "classes": ["x", "y", "z"],
            "input": {"width": 64, "mean": [0.5, 0.5, 0.5]},
            "files": [
                {"name": "weights.onnx", "max_mb": 5},
                {"name": "labels.txt", "required": False},
            ],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["description"] == "v2"
    assert body["classes"] == ["x", "y", "z"]
    assert body["input"]["width"] == 64
    assert body["input"]["height"] == 8  # merged, not replaced
    assert body["input"]["mean"] == [0.5, 0.5, 0.5]
    assert [f["name"] for f in body["files"]] == ["weights.onnx", "labels.txt"]
    assert_error(alice.http.patch(f"/models/{name}", json={"input": {"std": [0, 1, 1]}}), 422)
    assert alice.http.get(f"/models/{name}").json()["input"]["std"] == [1.0, 1.0, 1.0]


def test_the_name_cannot_be_edited(alice: Person) -> None:
    name = create_model(alice)
    # Not a field of the patch schema: ignored, the model keeps its name.
    alice.http.patch(f"/models/{name}", json={"name": "renamed"})
    assert alice.http.get(f"/models/{name}").status_code == 200
    assert alice.http.get("/models/renamed").status_code == 404


def test_the_list_is_paginated_and_shows_only_visible_models(
    alice: Person, bob: Person, charlie: Person
) -> None:
    names = {create_model(alice) for _ in range(3)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = alice.http.get("/models", params=params).json()
        seen += [m["name"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names <= set(seen)
    assert len(seen) == len(set(seen))
    assert not names & {m["name"] for m in charlie.http.get("/models").json()["items"]}


def test_a_member_reads_or_writes_according_to_role(alice: Person, bob: Person) -> None:
    name = create_model(alice)
    assert bob.http.get(f"/models/{name}").status_code == 404
    added = alice.http.post(f"/models/{name}/members", json={"username": bob.username})
    assert added.status_code == 201, added.text
    assert bob.http.get(f"/models/{name}").json()["owner"] == alice.username
    assert_error(bob.http.patch(f"/models/{name}", json={"description": "x"}), 403, "read_only")
    members = alice.http.get(f"/models/{name}/members").json()["items"]
    assert [(m["username"], m["role"]) for m in members] == [(bob.username, "read")]

    alice.http.post(f"/models/{name}/members", json={"username": bob.username, "role": "write"})
    assert bob.http.patch(f"/models/{name}", json={"description": "x"}).status_code == 200
    # Only the owner deletes the model or manages members.
    assert_error(bob.http.delete(f"/models/{name}"), 403, "owner_only")
    assert_error(bob.http.post(f"/models/{name}/members", json={"username": bob.username}), 403)
    assert alice.http.delete(f"/models/{name}/members/{bob.username}").status_code == 204
    assert bob.http.get(f"/models/{name}").status_code == 404


def test_a_shared_model_can_be_named_with_its_owner(alice: Person, bob: Person) -> None:
    name = create_model(alice)
    create_model(bob, name)
    alice.http.post(f"/models/{name}/members", json={"username": bob.username})
    # Bob's own model wins for the bare name; alice's is reached as alice/name in references.
    assert bob.http.get(f"/models/{name}").json()["owner"] == bob.username


def test_staff_see_and_change_any_model(alice: Person, admin: Person) -> None:
    name = create_model(alice)
    assert admin.http.get(f"/models/{name}").status_code == 200
    assert admin.http.patch(f"/models/{name}", json={"description": "ok"}).status_code == 200
    assert admin.http.delete(f"/models/{name}").status_code == 204
    assert alice.http.get(f"/models/{name}").status_code == 404


def test_a_stranger_gets_404_on_every_model_endpoint(alice: Person, charlie: Person) -> None:
    name = create_model(alice)
    calls = [
        charlie.http.get(f"/models/{name}"),
        charlie.http.patch(f"/models/{name}", json={"description": "x"}),
        charlie.http.delete(f"/models/{name}"),
        charlie.http.get(f"/models/{name}/members"),
        charlie.http.post(f"/models/{name}/members", json={"username": charlie.username}),
        charlie.http.delete(f"/models/{name}/members/{charlie.username}"),
    ]
    for response in calls:
        assert_error(response, 404, "model_not_found")
    assert alice.http.get(f"/models/{name}").status_code == 200


def test_anonymous_callers_are_refused(anonymous: Any) -> None:
    assert_error(anonymous.get("/models"), 401, "unauthorized")

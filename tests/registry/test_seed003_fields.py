"""The fields of Noronha's data model (seed 003) that VisionHub keeps: a model's ``data_files``,
a dataset's ``model`` and ``stored``, a version's ``compressed`` and ``lightweight``, a
deployment's ``project``, ``bvers`` (``build_version``) and ``notebook``, and training names
that are slugs like every other name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.conftest import Person
from tests.datasets.helpers import new_dataset
from tests.factories import make_noise_image
from tests.helpers import assert_error, unique
from tests.registry.support import create_model, push, push_ok

DATA_FILES = [
    {"name": "train.csv", "description": "the rows", "required": True, "max_mb": 50.0},
    {"name": "labels.json", "description": "", "required": False, "max_mb": None},
]


def test_a_model_definition_keeps_the_file_specs_of_its_training_data(alice: Person) -> None:
    name = create_model(alice, data_files=DATA_FILES)
    body = alice.http.get(f"/models/{name}").json()
    assert body["data_files"] == DATA_FILES
    changed = alice.http.patch(f"/models/{name}", json={"data_files": DATA_FILES[:1]})
    assert changed.status_code == 200 and changed.json()["data_files"] == DATA_FILES[:1]
    assert alice.http.get(f"/models/{create_model(alice)}").json()["data_files"] == []


@pytest.mark.parametrize(
    "bad",
    [[{"name": "../x.csv"}], [{"name": "a.csv"}, {"name": "a.csv"}], [{"name": "a", "max_mb": -1}]],
)
def test_data_files_are_checked_like_model_files(alice: Person, bad: list[Any]) -> None:
    body = {"name": unique("model"), "input": {"width": 8, "height": 8}, "data_files": bad}
    assert_error(alice.http.post("/models", json=body), 422, "invalid_file_spec")


def test_a_dataset_names_the_model_it_trains(alice: Person, bob: Person) -> None:
    model = create_model(alice)
    dataset = new_dataset(alice, model=model)
    assert dataset["model"] == f"{alice.username}/{model}"
    assert dataset["stored"] is True
    url = f"/datasets/{dataset['id']}"
    assert alice.http.patch(url, json={"model": ""}).json()["model"] is None
    assert alice.http.patch(url, json={"model": model}).json()["model"].endswith(model)
    listed = {d["id"]: d for d in alice.client.iterate("/datasets", {"name": dataset["name"]})}
    assert listed[dataset["id"]]["model"] == f"{alice.username}/{model}"
    # bob cannot link his dataset to a model he cannot read: the same 404 as for none.
    response = bob.http.post(
        "/datasets", json={"name": unique("ds"), "model": f"{alice.username}/{model}"}
    )
    assert_error(response, 404, "model_not_found")


def test_a_dataset_not_stored_here_refuses_images(alice: Person) -> None:
    dataset = new_dataset(alice, stored=False)
    assert dataset["stored"] is False
    response = alice.http.post(
        f"/datasets/{dataset['id']}/images",
        files={"file": ("a.png", make_noise_image(32, 24), "application/octet-stream")},
    )
    assert_error(response, 409, "dataset_not_stored")
    alice.http.patch(f"/datasets/{dataset['id']}", json={"stored": True})
    response = alice.http.post(
        f"/datasets/{dataset['id']}/images",
        files={"file": ("a.png", make_noise_image(32, 24), "application/octet-stream")},
    )
    assert response.status_code == 201, response.text


def test_a_version_records_compressed_and_lightweight(alice: Person) -> None:
    model = create_model(alice)
    plain = push_ok(alice, model, {"model.onnx": b"weights one"})
    assert (plain["compressed"], plain["lightweight"]) == (False, False)
    flagged = push_ok(
        alice, model, {"model.onnx": b"weights two"}, compressed="true", lightweight="1"
    )
    assert (flagged["compressed"], flagged["lightweight"]) == (True, True)
    again = alice.http.get(f"/models/{model}/versions/{flagged['version']}").json()
    assert (again["compressed"], again["lightweight"]) == (True, True)
    # The files are stored and served as they were sent, whatever the flags say.
    content = alice.http.get(f"/models/{model}/versions/{flagged['version']}/files/model.onnx")
    assert content.content == b"weights two"
    bad = push(alice, model, {"model.onnx": b"weights three"}, compressed="maybe")
    assert_error(bad, 422, "invalid_field")


@pytest.fixture(scope="module")
def project(alice: Person) -> dict[str, Any]:
    name = unique("proj")
    assert alice.http.post("/projects", json={"name": name}).status_code == 201
    for tag in ("1.0", "2.0"):
        response = alice.http.post(
            f"/projects/{name}/build-versions",
            json={"tag": tag, "built_from": "git", "built_at": datetime.now(UTC).isoformat()},
        )
        assert response.status_code == 201, response.text
    other = unique("proj")
    alice.http.post("/projects", json={"name": other})
    alice.http.post(
        f"/projects/{other}/build-versions",
        json={"tag": "9.0", "built_from": "local", "built_at": datetime.now(UTC).isoformat()},
    )
    return {"name": name, "other": other}


def _deploy(alice: Person, **fields: Any) -> Any:
    model = create_model(alice)
    push_ok(alice, model, {"model.onnx": b"deploy me"})
    body = {"name": unique("dep"), "model": model, "version": 1, **fields}
    return alice.http.post("/deployments", json=body)


def test_a_deployment_returns_its_project_build_version_and_notebook(
    alice: Person, project: dict[str, Any]
) -> None:
    response = _deploy(
        alice, project=project["name"], build_version="1.0", notebook="notebooks/predict.ipynb"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["project"], body["build_version"], body["notebook"]) == (
        project["name"],
        "1.0",
        "notebooks/predict.ipynb",
    )
    assert alice.http.get(f"/deployments/{body['name']}").json() == body
    bare = _deploy(alice).json()
    assert (bare["project"], bare["build_version"], bare["notebook"]) == (None, None, "")


def test_a_deployments_project_and_build_version_can_be_changed(
    alice: Person, project: dict[str, Any]
) -> None:
    name = _deploy(alice, project=project["name"], build_version="1.0").json()["name"]
    url = f"/deployments/{name}"
    body = alice.http.patch(url, json={"build_version": "2.0"}).json()
    assert (body["project"], body["build_version"]) == (project["name"], "2.0")
    # another project drops a build version of the old one
    body = alice.http.patch(url, json={"project": project["other"]}).json()
    assert (body["project"], body["build_version"]) == (project["other"], None)
    body = alice.http.patch(url, json={"build_version": "9.0", "notebook": "n/p.ipynb"}).json()
    assert (body["build_version"], body["notebook"]) == ("9.0", "n/p.ipynb")
    body = alice.http.patch(url, json={"project": None}).json()
    assert (body["project"], body["build_version"]) == (None, None)
    history = alice.http.get(f"{url}/history").json()["items"]
    assert len(history) == 1  # project changes are not rollouts


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"project": "P", "build_version": "9.0"}, 404, "build_version_not_found"),
        ({"build_version": "1.0"}, 422, "project_required"),
        ({"project": "nope"}, 404, "project_not_found"),
        ({"notebook": "../secrets.ipynb"}, 422, "invalid_notebook"),
        ({"notebook": "/etc/predict.ipynb"}, 422, "invalid_notebook"),
    ],
)
def test_a_deployments_build_version_belongs_to_its_project(
    alice: Person, project: dict[str, Any], fields: dict[str, Any], status: int, code: str
) -> None:
    if fields.get("project") == "P":
        fields = {**fields, "project": project["name"]}
    assert_error(_deploy(alice, **fields), status, code)


def test_a_stranger_cannot_attach_someone_elses_project(
    alice: Person, charlie: Person, project: dict[str, Any]
) -> None:
    model = create_model(charlie)
    push_ok(charlie, model, {"model.onnx": b"charlie's"})
    body = {"name": unique("dep"), "model": model, "version": 1, "project": project["name"]}
    assert_error(charlie.http.post("/deployments", json=body), 404, "project_not_found")


@pytest.mark.parametrize("name", ["Has Spaces", "UPPER", "trailing-", "a/b", "x" * 101])
def test_training_names_are_slugs(alice: Person, name: str) -> None:
    response = alice.http.post("/trainings", json={"name": name})
    assert response.status_code == 422, response.text


def test_a_training_may_be_unnamed_or_named_by_a_slug(alice: Person) -> None:
    assert alice.http.post("/trainings", json={}).status_code == 201
    named = alice.http.post("/trainings", json={"name": "resnet-run-1"})
    assert named.status_code == 201 and named.json()["name"] == "resnet-run-1"

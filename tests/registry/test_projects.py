"""Projects (seed 003) and their build versions."""

from __future__ import annotations

from tests.conftest import Person
from tests.helpers import assert_error, unique
from tests.registry.support import create_model


def test_a_project_lists_its_models_and_can_be_edited(alice: Person) -> None:
    model = create_model(alice)
    name = unique("proj")
    response = alice.http.post(
        "/projects",
        json={
            "name": name,
            "description": "x-rays",
            "models": [model],
            "git_repo": "https://git.example/xr.git",
            "docker_repo": "registry.example/xr",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["models"], body["git_repo"], body["owner"]) == (
        [model],
        "https://git.example/xr.git",
        alice.username,
    )
    patched = alice.http.patch(
        f"/projects/{name}", json={"home_dir": "/srv/xr", "models": []}
    ).json()
    assert (patched["home_dir"], patched["models"], patched["description"]) == (
        "/srv/xr",
        [],
        "x-rays",
    )
    assert name in [p["name"] for p in alice.http.get("/projects").json()["items"]]
    assert_error(alice.http.post("/projects", json={"name": name}), 409, "project_exists")
    assert_error(
        alice.http.post("/projects", json={"name": unique("p"), "models": ["nope"]}),
        404,
        "model_not_found",
    )


def test_build_versions_record_how_the_image_was_built(alice: Person) -> None:
    name = unique("proj")
    alice.http.post("/projects", json={"name": name})
    response = alice.http.post(
        f"/projects/{name}/build-versions",
        json={
            "tag": "1.0",
            "built_from": "pre-built",
            "docker_id": "sha256:abc",
            "git_version": "deadbeef",
            "built_at": "2024-05-01T10:00:00+00:00",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["built_at"].startswith("2024-05-01T10:00:00")
    assert (
        alice.http.get(f"/projects/{name}/build-versions/1.0").json()["docker_id"] == "sha256:abc"
    )
    assert [
        b["tag"] for b in alice.http.get(f"/projects/{name}/build-versions").json()["items"]
    ] == ["1.0"]
    assert_error(
        alice.http.post(
            f"/projects/{name}/build-versions", json={"tag": "1.0", "built_from": "git"}
        ),
        409,
        "build_version_exists",
    )
    assert_error(
        alice.http.post(
            f"/projects/{name}/build-versions", json={"tag": "2", "built_from": "cloud"}
        ),
        422,
        "invalid_built_from",
    )


def test_deleting_a_project_keeps_its_trainings(alice: Person) -> None:
    name = unique("proj")
    alice.http.post("/projects", json={"name": name})
    tid = alice.http.post("/trainings", json={"project": name}).json()["id"]
    assert alice.http.delete(f"/projects/{name}").status_code == 204
    assert alice.http.get(f"/trainings/{tid}").json()["project"] is None


def test_a_stranger_gets_404_on_every_project_endpoint(alice: Person, charlie: Person) -> None:
    name = unique("proj")
    alice.http.post("/projects", json={"name": name})
    alice.http.post(f"/projects/{name}/build-versions", json={"tag": "v1", "built_from": "git"})
    for response in [
        charlie.http.get(f"/projects/{name}"),
        charlie.http.patch(f"/projects/{name}", json={"description": "mine"}),
        charlie.http.delete(f"/projects/{name}"),
        charlie.http.get(f"/projects/{name}/build-versions"),
        charlie.http.post(
            f"/projects/{name}/build-versions", json={"tag": "v2", "built_from": "git"}
        ),
        charlie.http.get(f"/projects/{name}/build-versions/v1"),
        charlie.http.post("/trainings", json={"project": name}),
    ]:
        assert_error(response, 404, "project_not_found")
    assert name not in [p["name"] for p in charlie.http.get("/projects").json()["items"]]

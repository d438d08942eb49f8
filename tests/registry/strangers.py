"""The registry rows of the stranger matrix (``tests/strangers.py``): alice's private model,
project, training and deployment."""

from __future__ import annotations

from typing import Any

from tests.conftest import Person
from tests.factories import make_brightness_classifier
from tests.helpers import unique
from tests.inference.helpers import deploy
from tests.strangers import Hidden, Open, Row


def world(alice: Person, admin: Person) -> dict[str, Any]:
    deployment = deploy(alice)
    model = alice.http.get(f"/deployments/{deployment}").json()["model"]
    project = unique("project")
    assert alice.http.post("/projects", json={"name": project}).status_code == 201
    build = alice.http.post(
        f"/projects/{project}/build-versions", json={"tag": "v1", "built_from": "git"}
    )
    assert build.status_code == 201, build.text
    training = alice.http.post("/trainings", json={"name": "t", "project": project})
    assert training.status_code == 201, training.text
    return {
        "model": model,
        "version": 1,
        "filename": "model.onnx",
        "project": project,
        "tag": "v1",
        "training_id": training.json()["id"],
        "deployment": deployment,
        "username": alice.username,
    }


M = "/models/{name}"
V = "/models/{name}/versions/{version}"
P = "/projects/{name}"
DEP = "/deployments/{name}"
MODEL = {"name": "model"}
PROJECT = {"name": "project"}
DEPLOYMENT = {"name": "deployment"}
MEMBER = {"username": "x", "access": "read"}
ONNX = [("files", ("model.onnx", make_brightness_classifier(8, 8, 1), "application/octet-stream"))]
MODELS_TEST = "registry/test_model_definitions.py"

ROWS: list[Row] = [
    Open("POST", "/models", "makes charlie's own model", MODELS_TEST),
    Open("GET", "/models", "lists the models charlie may read", MODELS_TEST),
    Open(
        "POST",
        "/models/import",
        "imports a bundle as charlie's own model",
        "registry/test_bundles.py",
    ),
    Hidden("GET", M, "model_not_found", fill=MODEL),
    Hidden("PATCH", M, "model_not_found", fill=MODEL, json={"description": "mine"}),
    Hidden("DELETE", M, "model_not_found", fill=MODEL),
    Hidden("GET", f"{M}/members", "model_not_found", fill=MODEL),
    Hidden("POST", f"{M}/members", "model_not_found", fill=MODEL, json=MEMBER),
    Hidden("DELETE", f"{M}/members/{{username}}", "model_not_found", fill=MODEL),
    Hidden("POST", f"{M}/versions", "model_not_found", fill=MODEL, files=ONNX),
    Hidden("GET", f"{M}/versions", "model_not_found", fill=MODEL),
    Hidden("GET", V, "model_not_found", fill=MODEL),
    Hidden("PATCH", V, "model_not_found", fill=MODEL, json={"name": "mine"}),
    Hidden("DELETE", V, "model_not_found", fill=MODEL),
    Hidden("GET", f"{V}/files/{{filename}}", "model_not_found", fill=MODEL),
    Hidden("GET", f"{V}/archive", "model_not_found", fill=MODEL),
    Hidden("GET", f"{V}/bundle", "model_not_found", fill=MODEL),
    Hidden("GET", f"{V}/lineage", "model_not_found", fill=MODEL),
    Open("POST", "/projects", "makes charlie's own project", "registry/test_projects.py"),
    Open("GET", "/projects", "lists charlie's own projects", "registry/test_projects.py"),
    Hidden("GET", P, "project_not_found", fill=PROJECT),
    Hidden("PATCH", P, "project_not_found", fill=PROJECT, json={"description": "mine"}),
    Hidden("DELETE", P, "project_not_found", fill=PROJECT),
    Hidden(
        "POST",
        f"{P}/build-versions",
        "project_not_found",
        fill=PROJECT,
        json={"tag": "v2", "built_from": "git"},
    ),
    Hidden("GET", f"{P}/build-versions", "project_not_found", fill=PROJECT),
    Hidden("GET", f"{P}/build-versions/{{tag}}", "project_not_found", fill=PROJECT),
    Hidden(
        "POST",
        "/trainings",
        "project_not_found",
        json=lambda w: {"name": "mine", "project": w["project"]},
    ),
    Open("GET", "/trainings", "lists charlie's own trainings", "registry/test_trainings.py"),
    Hidden("GET", "/trainings/{training_id}", "training_not_found"),
    Hidden("PATCH", "/trainings/{training_id}", "training_not_found", json={"progress": 0.5}),
    Hidden("DELETE", "/trainings/{training_id}", "training_not_found"),
    Hidden(
        "POST",
        "/deployments",
        "model_not_found",
        json=lambda w: {"name": unique("mine"), "model": w["model"], "version": 1},
    ),
    Open(
        "GET",
        "/deployments",
        "lists the deployments charlie may use",
        "registry/test_deployments.py",
    ),
    Hidden("GET", DEP, "deployment_not_found", fill=DEPLOYMENT),
    Hidden("PATCH", DEP, "deployment_not_found", fill=DEPLOYMENT, json={"replication": 2}),
    Hidden("DELETE", DEP, "deployment_not_found", fill=DEPLOYMENT),
    Hidden("GET", f"{DEP}/history", "deployment_not_found", fill=DEPLOYMENT),
    Hidden("GET", f"{DEP}/members", "deployment_not_found", fill=DEPLOYMENT),
    Hidden("POST", f"{DEP}/members", "deployment_not_found", fill=DEPLOYMENT, json=MEMBER),
    Hidden("DELETE", f"{DEP}/members/{{username}}", "deployment_not_found", fill=DEPLOYMENT),
]

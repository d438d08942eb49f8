"""Trainings: legal state transitions only, progress in [0, 1] never backwards, merged details."""

from __future__ import annotations

from datetime import datetime

import pytest
from tests.conftest import LiveServer, Person
from tests.helpers import assert_error, unique

from visionhub.client import ClientError


def _training(person: Person, **fields: object) -> int:
    response = person.http.post("/trainings", json={"name": unique("train"), **fields})
    assert response.status_code == 201, response.text
    training_id: int = response.json()["id"]
    return training_id


def test_a_new_training_waits_at_zero(alice: Person) -> None:
    response = alice.http.post("/trainings", json={"name": "first", "notebook": "nb/train.ipynb"})
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["progress"], body["start_time"]) == ("WAITING", 0.0, None)
    assert body["owner"] == alice.username
    assert body["notebook"] == "nb/train.ipynb"


def test_a_training_runs_reports_progress_and_finishes(alice: Person) -> None:
    tid = _training(alice)
    running = alice.http.patch(f"/trainings/{tid}", json={"state": "RUNNING"}).json()
    assert running["state"] == "RUNNING"
    started = datetime.fromisoformat(running["start_time"])
    half = alice.http.patch(
        f"/trainings/{tid}", json={"progress": 0.5, "details": {"loss": 0.7, "epoch": 5}}
    ).json()
    assert half["progress"] == 0.5
    assert datetime.fromisoformat(half["update_time"]) >= started
    more = alice.http.patch(f"/trainings/{tid}", json={"details": {"loss": 0.4}}).json()
    assert more["details"] == {"loss": 0.4, "epoch": 5}  # merged key by key
    done = alice.http.patch(f"/trainings/{tid}", json={"state": "finished"}).json()
    assert (done["state"], done["progress"]) == ("FINISHED", 1.0)
    assert done["start_time"] == running["start_time"]


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (["RUNNING", "FINISHED"], "RUNNING"),
        (["RUNNING", "FINISHED"], "WAITING"),
        (["CANCELLED"], "RUNNING"),
        (["FAILED"], "RUNNING"),
        (["RUNNING", "CANCELLED"], "FINISHED"),
        ([], "FINISHED"),
        (["RUNNING"], "WAITING"),
    ],
)
def test_illegal_transitions_are_refused(alice: Person, path: list[str], target: str) -> None:
    tid = _training(alice)
    for state in path:
        assert alice.http.patch(f"/trainings/{tid}", json={"state": state}).status_code == 200
    error = assert_error(
        alice.http.patch(f"/trainings/{tid}", json={"state": target}), 409, "illegal_transition"
    )
    assert error["details"]["to"] == target
    assert alice.http.get(f"/trainings/{tid}").json()["state"] == (path[-1] if path else "WAITING")


def test_progress_never_goes_backwards_nor_out_of_range(alice: Person) -> None:
    tid = _training(alice)
    alice.http.patch(f"/trainings/{tid}", json={"progress": 0.6})
    assert_error(
        alice.http.patch(f"/trainings/{tid}", json={"progress": 0.5}), 422, "progress_backwards"
    )
    assert_error(
        alice.http.patch(f"/trainings/{tid}", json={"progress": 1.5}), 422, "invalid_progress"
    )
    assert_error(
        alice.http.patch(f"/trainings/{tid}", json={"progress": -0.1}), 422, "invalid_progress"
    )
    assert_error(
        alice.http.patch(f"/trainings/{tid}", json={"state": "SLEEPING"}), 422, "invalid_state"
    )
    assert alice.http.get(f"/trainings/{tid}").json()["progress"] == 0.6


def test_reporting_progress_starts_a_waiting_training(alice: Person) -> None:
    tid = _training(alice)
    body = alice.http.patch(f"/trainings/{tid}", json={"progress": 0.1}).json()
    assert body["state"] == "RUNNING"
    assert body["start_time"] is not None


def test_the_progress_of_an_ended_training_is_final(alice: Person) -> None:
    tid = _training(alice)
    alice.http.patch(f"/trainings/{tid}", json={"state": "RUNNING"})
    alice.http.patch(f"/trainings/{tid}", json={"progress": 0.3, "state": "FAILED"})
    assert_error(
        alice.http.patch(f"/trainings/{tid}", json={"progress": 0.4}), 409, "training_ended"
    )
    # Details (say, the error) can still be added.
    body = alice.http.patch(f"/trainings/{tid}", json={"details": {"error": "OOM"}}).json()
    assert body["details"]["error"] == "OOM"


def test_a_training_script_reports_through_the_client(alice: Person) -> None:
    tid = alice.client.create_training("scripted")["id"]
    body = alice.client.report_progress(tid, 0.25, accuracy=0.5)
    assert (body["state"], body["progress"], body["details"]) == (
        "RUNNING",
        0.25,
        {"accuracy": 0.5},
    )
    body = alice.client.report_progress(tid, 1.0, "FINISHED", accuracy=0.93)
    assert (body["state"], body["details"]["accuracy"]) == ("FINISHED", 0.93)
    with pytest.raises(ClientError) as caught:
        alice.client.report_progress(tid, 1.0, "RUNNING")
    assert caught.value.code == "illegal_transition"


def test_a_training_script_reports_through_the_cli(server: LiveServer, alice: Person) -> None:
    env = {"VISIONHUB_TOKEN": alice.token}
    created = server.cli("training", "create", "--name", "cli-run", env=env)
    tid = int(created.stdout.strip().splitlines()[-1])
    server.cli(
        "training",
        "progress",
        str(tid),
        "--progress",
        "0.5",
        "--metric",
        "loss=0.25",
        "--metric",
        "note=warmup",
        env=env,
    )
    body = alice.http.get(f"/trainings/{tid}").json()
    assert (body["state"], body["progress"]) == ("RUNNING", 0.5)
    assert body["details"] == {"loss": 0.25, "note": "warmup"}
    back = server.cli("training", "progress", str(tid), "--progress", "0.1", env=env, check=False)
    assert back.returncode != 0
    assert "progress_backwards" in back.stderr


def test_trainings_belong_to_projects_and_build_versions(alice: Person) -> None:
    project = unique("proj")
    assert alice.http.post("/projects", json={"name": project}).status_code == 201
    build = alice.http.post(
        f"/projects/{project}/build-versions", json={"tag": "v1", "built_from": "git"}
    )
    assert build.status_code == 201, build.text
    tid = _training(alice, project=project, build_version="v1")
    body = alice.http.get(f"/trainings/{tid}").json()
    assert (body["project"], body["build_version"]) == (project, "v1")
    assert_error(
        alice.http.post("/trainings", json={"build_version": "v1"}), 422, "project_required"
    )
    assert_error(
        alice.http.post("/trainings", json={"project": project, "build_version": "v9"}),
        404,
        "build_version_not_found",
    )


def test_the_list_is_newest_first_and_filters_by_state(alice: Person) -> None:
    first = _training(alice)
    second = _training(alice)
    alice.http.patch(f"/trainings/{second}", json={"state": "RUNNING"})
    ids = [t["id"] for t in alice.http.get("/trainings").json()["items"]]
    assert ids.index(second) < ids.index(first)
    running = [
        t["id"] for t in alice.http.get("/trainings", params={"state": "running"}).json()["items"]
    ]
    assert second in running
    assert first not in running


def test_a_stranger_gets_404_on_every_training_endpoint(alice: Person, charlie: Person) -> None:
    tid = _training(alice)
    for response in [
        charlie.http.get(f"/trainings/{tid}"),
        charlie.http.patch(f"/trainings/{tid}", json={"progress": 0.9}),
        charlie.http.delete(f"/trainings/{tid}"),
    ]:
        assert_error(response, 404, "training_not_found")
    assert tid not in [t["id"] for t in charlie.http.get("/trainings").json()["items"]]
    assert alice.http.get(f"/trainings/{tid}").json()["progress"] == 0.0
    assert_error(charlie.http.get("/trainings/not-a-number"), 404, "training_not_found")

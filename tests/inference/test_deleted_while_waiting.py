"""A classification deleted while a client waits on it (``predict``, ``?wait=``; its deployment
was deleted) answers 404, not 500."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from tests.conftest import Person
from tests.helpers import assert_error, wait_until
from tests.inference.helpers import deploy, gray_png

# The waits hold the server's listener connection: a real process keeps it out of this one.
pytestmark = pytest.mark.process


def in_background(call: Any) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def requests_of(alice: Person, deployment: str) -> list[dict[str, Any]]:
    page = alice.http.get("/classifications", params={"deployment": deployment}).json()
    items: list[dict[str, Any]] = page.get("items", [])
    return items


def test_a_predict_whose_deployment_is_deleted_while_it_waits_is_404(alice: Person) -> None:
    deployment = deploy(alice)
    files = {"file": ("a.png", gray_png(40, marker=7), "image/png")}
    thread, answers = in_background(
        lambda: alice.http.post(f"/deployments/{deployment}/predict?timeout=20", files=files)
    )
    wait_until(lambda: requests_of(alice, deployment), timeout=20)  # submitted: now it waits

    assert alice.http.delete(f"/deployments/{deployment}").status_code == 204

    thread.join(30)
    assert_error(answers[0], 404, "classification_not_found")


def test_a_wait_on_a_classification_deleted_meanwhile_is_404(alice: Person) -> None:
    deployment = deploy(alice)
    files = {"file": ("a.png", gray_png(60, marker=8), "image/png")}
    created = alice.http.post("/classifications", data={"deployment": deployment}, files=files)
    assert created.status_code == 202, created.text
    request_id = created.json()["id"]
    thread, answers = in_background(
        lambda: alice.http.get(f"/classifications/{request_id}", params={"wait": 20})
    )

    assert alice.http.delete(f"/deployments/{deployment}").status_code == 204

    thread.join(30)
    assert_error(answers[0], 404, "classification_not_found")

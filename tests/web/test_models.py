"""The model pages in a browser: from the list to a version, its files and its lineage graph."""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import expect
from tests.conftest import Person
from tests.factories import make_brightness_classifier
from tests.helpers import unique
from tests.inference.helpers import INPUT
from tests.web.conftest import SignIn

pytestmark = [pytest.mark.process, pytest.mark.browser]

ONNX = make_brightness_classifier(8, 8, 1)


def _model(person: Person, **fields: str) -> str:
    name = unique("digits")
    body = {"name": name, "classes": ["dark", "bright"], "input": INPUT, "description": "8x8"}
    assert person.http.post("/models", json=body).status_code == 201
    files = [("files", ("model.onnx", ONNX, "application/octet-stream"))]
    response = person.http.post(f"/models/{name}/versions", data=fields, files=files)
    assert response.status_code == 201, response.text
    return name


def test_a_person_follows_a_versions_lineage_and_downloads_its_file(
    signed_in: SignIn, alice: Person
) -> None:
    base = _model(alice)
    training = alice.http.post("/trainings", json={"name": "fine-tune"}).json()
    dataset = alice.http.post("/datasets", json={"name": unique("grays")}).json()
    child = _model(
        alice,
        pretrained=f"{base}:1",
        training=str(training["id"]),
        dataset=str(dataset["id"]),
        details='{"accuracy": 0.93}',
    )
    page = signed_in(alice)
    page.goto("/models/")
    page.get_by_role("link", name=child, exact=True).click()
    expect(page.locator("h1")).to_contain_text(child)
    page.locator("#versions").get_by_role("link", name="v1").click()
    expect(page.locator("#details")).to_contain_text('"accuracy": 0.93')

    graph = page.locator("#lineage")
    versions = graph.locator(".node-version")
    expect(versions).to_have_count(2)
    expect(graph.locator(".node-training")).to_contain_text("fine-tune")
    expect(graph.locator(".node-dataset")).to_contain_text(dataset["name"])
    parent, current = versions.nth(0).bounding_box(), versions.nth(1).bounding_box()
    assert parent is not None and current is not None
    assert parent["x"] + parent["width"] < current["x"]  # the ancestor is drawn to the left
    assert f"{base}:1" in (versions.nth(0).text_content() or "")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    saved = download.value.path()
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(ONNX).hexdigest()

    graph.locator("a", has=page.locator(".node-version:not(.current)")).click()
    expect(page.locator("h1")).to_contain_text(f"{base}:1")


def test_a_stranger_gets_the_404_page_for_every_model_page(
    other_browser: SignIn, alice: Person, charlie: Person
) -> None:
    name = _model(alice)
    page = other_browser(charlie)
    base = f"/models/{alice.username}~{name}"
    for url in (f"{base}/", f"{base}/versions/1/", f"{base}/versions/1/files/model.onnx"):
        response = page.goto(url)
        assert response is not None and response.status == 404, url
        expect(page.locator("h1")).to_have_text("Not found")
    page.goto("/models/")
    expect(page.get_by_text(name)).to_have_count(0)

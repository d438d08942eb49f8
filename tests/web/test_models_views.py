"""The model pages over HTTP: what they show, the streamed download, strangers, query counts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import Person
from tests.helpers import unique
from tests.web.conftest import PASSWORD
from tests.web.hub_support import ONNX, push_model

Pages = Callable[[Person], httpx.Client]


def test_the_models_page_lists_my_models_with_their_latest_version(
    session_of: Pages, alice: Person
) -> None:
    model = push_model(alice)
    push_model(alice, model)
    html = session_of(alice).get("/models/").text
    assert model in html
    assert f"/models/{alice.username}~{model}/versions/2/" in html


def test_a_version_page_shows_details_provenance_and_the_lineage(
    session_of: Pages, alice: Person
) -> None:
    base = push_model(alice)
    training = alice.http.post("/trainings", json={"name": "fine-tune"}).json()
    dataset = alice.http.post("/datasets", json={"name": unique("digits")}).json()
    child = push_model(
        alice,
        pretrained=f"{base}:1",
        training=training["id"],
        dataset=dataset["id"],
        details={"accuracy": 0.93},
    )
    page = session_of(alice).get(f"/models/{alice.username}~{child}/versions/1/")
    assert page.status_code == 200
    html = page.text
    assert "&quot;accuracy&quot;: 0.93" in html
    assert f"{base}:1" in html and "fine-tune" in html and dataset["name"] in html
    assert html.count('class="node node-version') == 2
    assert f'href="/models/{alice.username}~{base}/versions/1/"' in html
    assert f'href="/trainings/{training["id"]}/"' in html


def test_a_file_streams_through_the_session_with_its_etag(session_of: Pages, alice: Person) -> None:
    model = push_model(alice)
    url = f"/models/{alice.username}~{model}/versions/1/files/model.onnx"
    pages = session_of(alice)
    response = pages.get(url)
    assert response.status_code == 200
    digest = hashlib.sha256(ONNX).hexdigest()
    assert hashlib.sha256(response.content).hexdigest() == digest
    assert response.headers["ETag"] == f'"{digest}"'
    assert "attachment" in response.headers["Content-Disposition"]
    assert pages.get(url, headers={"If-None-Match": f'"{digest}"'}).status_code == 304


@pytest.mark.parametrize("suffix", ["/", "/versions/1/", "/versions/1/files/model.onnx"])
def test_a_stranger_gets_404_for_every_model_page(
    session_of: Pages, alice: Person, charlie: Person, suffix: str
) -> None:
    model = push_model(alice)
    pages = session_of(charlie)
    response = pages.get(f"/models/{alice.username}~{model}{suffix}")
    assert response.status_code == 404
    assert "Not found" in response.text
    assert model not in pages.get("/models/").text


def test_the_model_pages_cost_the_same_queries_for_few_models_and_versions_or_many(
    session_of: Pages, make_person: Callable[..., Person]
) -> None:
    owner = make_person("owner", password=PASSWORD)
    pages = session_of(owner)
    push_model(owner)
    with CaptureQueriesContext(connection) as few:
        pages.get("/models/")
    model = push_model(owner)
    page = f"/models/{owner.username}~{model}/"
    with CaptureQueriesContext(connection) as one_version:
        pages.get(page)
    for _ in range(4):
        push_model(owner, push_model(owner))
        push_model(owner, model)
    with CaptureQueriesContext(connection) as many:
        pages.get("/models/")
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as many_versions:
        pages.get(page)
    assert len(many_versions) == len(one_version)

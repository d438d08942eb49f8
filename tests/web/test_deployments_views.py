"""The deployment pages over HTTP: facts, the statistics fragment, "classify an image" by
upload or from a dataset (queued through the inference services), strangers, query counts."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import Person
from tests.inference.helpers import deploy, gray_png, upload_images
from tests.web.conftest import PASSWORD
from tests.web.hub_support import submit_form

from visionhub.inference.models import ClassificationRequest

Pages = Callable[[Person], httpx.Client]
Committed = Callable[[], AbstractContextManager[None]]


def _requests(committed: Committed, deployment: str) -> list[ClassificationRequest]:
    with committed():
        return list(ClassificationRequest.objects.filter(deployment__name=deployment))


def _upload(pages: httpx.Client, name: str, level: int = 220) -> httpx.Response:
    files = {"file": ("x.png", gray_png(level), "image/png")}
    return submit_form(pages, f"/deployments/{name}/", f"/deployments/{name}/classify", files=files)


def test_the_page_shows_the_version_replication_quorum_and_statistics(
    session_of: Pages, alice: Person
) -> None:
    name = deploy(alice, replication=3, quorum=2)
    pages = session_of(alice)
    html = pages.get(f"/deployments/{name}/").text
    assert "3 workers classify each request" in html
    assert "2 identical answers accept it" in html
    stats = pages.get(f"/deployments/{name}/stats")
    assert stats.status_code == 200 and stats.headers["Cache-Control"] == "no-store"
    assert '<span class="n">0</span><span class="what">pending</span>' in stats.text


def test_an_upload_is_queued_and_its_page_follows_it(
    session_of: Pages, alice: Person, committed: Committed
) -> None:
    name = deploy(alice)
    pages = session_of(alice)
    response = _upload(pages, name)
    assert response.status_code == 302
    [queued] = _requests(committed, name)
    assert response.headers["Location"] == f"/classifications/{queued.pk}/"
    status = pages.get(f"/classifications/{queued.pk}/status.json").json()
    assert (status["status"], status["label"], status["terminal"]) == ("pending", None, False)
    assert "Waiting for the fleet" in pages.get(response.headers["Location"]).text
    stats = pages.get(f"/deployments/{name}/stats").text
    assert '<span class="n">1</span><span class="what">pending</span>' in stats


def test_an_image_picked_from_a_dataset_is_queued(
    session_of: Pages, alice: Person, committed: Committed
) -> None:
    name = deploy(alice)
    dataset_id, [image_id] = upload_images(alice, [gray_png(10, marker=7)])
    pages = session_of(alice)
    picker = pages.get(f"/deployments/{name}/", params={"dataset": dataset_id}).text
    assert f'value="{image_id}"' in picker and "img-0.png" in picker
    response = submit_form(
        pages, f"/deployments/{name}/", f"/deployments/{name}/classify", {"image": image_id}
    )
    assert response.status_code == 302
    assert [r.image_id for r in _requests(committed, name)] == [image_id]


def test_a_request_without_an_image_is_a_422_page(session_of: Pages, alice: Person) -> None:
    name = deploy(alice)
    pages = session_of(alice)
    response = submit_form(pages, f"/deployments/{name}/", f"/deployments/{name}/classify")
    assert response.status_code == 422


def test_a_stranger_gets_404_and_cannot_classify(
    session_of: Pages, alice: Person, charlie: Person, committed: Committed
) -> None:
    name = deploy(alice)
    dataset_id, [image_id] = upload_images(alice, [gray_png(30, marker=8)])
    strange = session_of(charlie)
    for url in (f"/deployments/{name}/", f"/deployments/{name}/stats"):
        assert strange.get(url).status_code == 404, url
    files = {"file": ("x.png", gray_png(220), "image/png")}
    refused = submit_form(strange, "/deployments/", f"/deployments/{name}/classify", files=files)
    assert refused.status_code == 404
    assert _requests(committed, name) == []
    own = deploy(charlie)
    picked = submit_form(
        strange, "/deployments/", f"/deployments/{own}/classify", {"image": image_id}
    )
    assert picked.status_code == 404  # alice's image, through charlie's own deployment
    assert strange.get(f"/deployments/{own}/", params={"dataset": dataset_id}).status_code == 404
    _upload(session_of(alice), name)
    [queued] = _requests(committed, name)
    assert strange.get(f"/classifications/{queued.pk}/").status_code == 404
    assert strange.get(f"/classifications/{queued.pk}/status.json").status_code == 404
    assert name not in strange.get("/deployments/").text


def test_the_list_costs_the_same_queries_for_few_deployments_or_many(
    session_of: Pages, make_person: Callable[..., Person]
) -> None:
    owner = make_person("owner", password=PASSWORD)
    pages = session_of(owner)
    deploy(owner)
    with CaptureQueriesContext(connection) as few:
        pages.get("/deployments/")
    for _ in range(3):
        deploy(owner)
    with CaptureQueriesContext(connection) as many:
        pages.get("/deployments/")
    assert len(many) == len(few)

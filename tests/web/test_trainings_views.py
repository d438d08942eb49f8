"""The training pages over HTTP: the state filter, the status the pages poll, strangers and
query counts."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import Person
from tests.helpers import unique
from tests.web.conftest import PASSWORD

Pages = Callable[[Person], httpx.Client]


def _training(person: Person, name: str | None = None) -> dict[str, object]:
    response = person.http.post("/trainings", json={"name": name or unique("run")})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_status_follows_what_a_training_reports(session_of: Pages, alice: Person) -> None:
    training = _training(alice)
    pages = session_of(alice)
    assert "WAITING" in pages.get(f"/trainings/{training['id']}/").text
    alice.http.patch(f"/trainings/{training['id']}", json={"state": "running", "progress": 0.4})
    status = pages.get("/trainings/status.json", params={"id": training["id"]})
    assert status.headers["Cache-Control"] == "no-store"
    [shown] = status.json()["trainings"]
    assert (shown["state"], shown["percent"], shown["terminal"]) == ("RUNNING", 40, False)


def test_the_list_filters_by_state(session_of: Pages, alice: Person) -> None:
    waiting, running = _training(alice, unique("still")), _training(alice, unique("now"))
    alice.http.patch(f"/trainings/{running['id']}", json={"state": "running"})
    html = session_of(alice).get("/trainings/", params={"state": "running"}).text
    assert str(running["name"]) in html and str(waiting["name"]) not in html


def test_an_unknown_state_is_a_422_page(session_of: Pages, alice: Person) -> None:
    response = session_of(alice).get("/trainings/", params={"state": "sleeping"})
    assert response.status_code == 422


def test_a_stranger_sees_no_training(session_of: Pages, alice: Person, charlie: Person) -> None:
    training = _training(alice, unique("secret-run"))
    pages = session_of(charlie)
    assert pages.get(f"/trainings/{training['id']}/").status_code == 404
    status = pages.get("/trainings/status.json", params={"id": training["id"]})
    assert status.json() == {"trainings": []}
    assert str(training["name"]) not in pages.get("/trainings/").text


def test_the_list_costs_the_same_queries_for_few_trainings_or_many(
    session_of: Pages, make_person: Callable[..., Person]
) -> None:
    owner = make_person("owner", password=PASSWORD)
    pages = session_of(owner)
    _training(owner)
    with CaptureQueriesContext(connection) as few:
        pages.get("/trainings/")
    for _ in range(5):
        _training(owner)
    with CaptureQueriesContext(connection) as many:
        pages.get("/trainings/")
    assert len(many) == len(few)

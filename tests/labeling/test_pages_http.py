"""The labeling pages over plain HTTP in-process (a session signed in through the login form):
creating a project from its page keeps the API's rules; a stranger sees none of it."""

from __future__ import annotations

import re

import httpx
from tests.conftest import Person, PersonFactory, Server
from tests.datasets.helpers import new_dataset
from tests.labeling.support import ok

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _session(server: Server, person: Person) -> httpx.Client:
    client = server.http(base_url=server.url, follow_redirects=False)
    page = client.get("/login/")
    token = CSRF.search(page.text)
    assert token is not None
    signed = client.post(
        "/login/",
        data={"csrfmiddlewaretoken": token[1], "username": person.username, "password": PASSWORD},
    )
    assert signed.status_code == 302, signed.text[:500]
    return client


def _token(client: httpx.Client, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found is not None
    return found[1]


def test_a_project_is_created_from_its_page_with_the_apis_rules(
    server: Server, make_person: PersonFactory
) -> None:
    alice = make_person("alice", password=PASSWORD)
    charlie = make_person("charlie", password=PASSWORD)
    dataset = new_dataset(alice, "page-made")
    pages = _session(server, alice)
    form = pages.get("/labeling/new/")
    assert form.status_code == 200 and dataset["name"] in form.text
    made = pages.post(
        "/labeling/new/",
        data={
            "csrfmiddlewaretoken": _token(pages, "/labeling/new/"),
            "name": "from the page",
            "datasets": [str(dataset["id"])],
            "managers": alice.username,
            "categories": "Cat, dog",
        },
    )
    assert made.status_code == 302, made.text[:500]
    project_id = int(made.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    project = ok(alice.http.get(f"/label-projects/{project_id}"))
    assert (project["name"], project["categories"], project["datasets"]) == (
        "from the page", ["cat", "dog"], [dataset["id"]]
    )  # fmt: skip
    listing = pages.get("/labeling/")
    assert listing.status_code == 200 and "from the page" in listing.text
    assert pages.get(f"/labeling/projects/{project_id}/").status_code == 200

    # Charlie may not change alice's dataset: the page says so, and no project is made.
    strangers = _session(server, charlie)
    refused = strangers.post(
        "/labeling/new/",
        data={
            "csrfmiddlewaretoken": _token(strangers, "/labeling/new/"),
            "name": "mine",
            "datasets": [str(dataset["id"])],
            "managers": charlie.username,
            "categories": "cat",
        },
    )
    assert refused.status_code == 200 and "no such dataset" in refused.text
    assert ok(charlie.http.get("/label-projects"))["items"] == []
    assert "from the page" not in strangers.get("/labeling/").text
    assert strangers.get(f"/labeling/projects/{project_id}/").status_code == 404

"""The admin's labeling pages: staff browse projects and tasks, and QA goes through the
services (a refused QA is reported, nothing changes)."""

from __future__ import annotations

import re

import httpx
from tests.conftest import Person, PersonFactory, Server
from tests.helpers import unique
from tests.labeling.support import create_project, dataset_with_images, init_project, ok, tasks_of

PASSWORD = "admin password 123"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _admin_session(server: Server) -> httpx.Client:
    name = unique("root")
    server.cli("user", "create", name, "--staff", "--password-stdin", input=PASSWORD + "\n")
    client = server.http(base_url=server.url, follow_redirects=False)
    page = client.get("/admin/login/")
    token = CSRF.search(page.text)
    assert token is not None
    client.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token[1], "username": name, "password": PASSWORD},
        headers={"Referer": f"{server.url}/admin/login/"},
    )
    return client


def test_staff_browse_projects_and_tasks_and_qa_through_the_services(
    server: Server, make_person: PersonFactory, alice: Person
) -> None:
    manager = make_person("manager")
    dataset = dataset_with_images(alice, 2)
    project = create_project(alice, [dataset["id"]], [manager])
    init_project(manager, project["id"], batch_size=1, label_times=1, review_times=0)
    admin = _admin_session(server)

    listing = admin.get("/admin/labeling/labelproject/")
    assert listing.status_code == 200 and project["name"] in listing.text
    assert admin.get(f"/admin/labeling/labelproject/{project['id']}/change/").status_code == 200
    tasks = admin.get("/admin/labeling/labeltask/")
    assert tasks.status_code == 200
    task = tasks_of(manager, project["id"])[0]
    assert admin.get(f"/admin/labeling/labeltask/{task['id']}/change/").status_code == 200

    token = CSRF.search(listing.text)
    assert token is not None
    answer = admin.post(
        "/admin/labeling/labelproject/",
        data={
            "csrfmiddlewaretoken": token[1],
            "action": "accept_projects",
            "_selected_action": [str(project["id"])],
        },
        headers={"Referer": f"{server.url}/admin/labeling/labelproject/"},
        follow_redirects=True,
    )
    assert answer.status_code == 200
    assert "not reviewing" in answer.text
    assert ok(alice.http.get(f"/label-projects/{project['id']}"))["status"] == "working"

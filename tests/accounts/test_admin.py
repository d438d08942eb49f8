"""Staff get the Django admin at /admin/; others do not."""

from __future__ import annotations

import re

import httpx
from tests.conftest import LiveServer
from tests.helpers import unique

PASSWORD = "admin password 123"


def _login(server: LiveServer, username: str) -> httpx.Response:
    client = server.http(base_url=server.url, follow_redirects=False)
    page = client.get("/admin/login/")
    assert page.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf is not None
    client.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": csrf.group(1), "username": username, "password": PASSWORD},
        headers={"Referer": f"{server.url}/admin/login/"},
    )
    return client.get("/admin/")


def test_staff_use_the_admin(server: LiveServer) -> None:
    name = unique("root")
    server.cli("user", "create", name, "--staff", "--password-stdin", input=PASSWORD + "\n")
    response = _login(server, name)
    assert response.status_code == 200
    assert "VisionHub administration" in response.text
    # the admin's static files are served by the production server too
    assert server.get(f"{server.url}/static/admin/css/base.css").status_code == 200


def test_non_staff_are_sent_back_to_the_login(server: LiveServer) -> None:
    name = unique("plain")
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    response = _login(server, name)
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["Location"]

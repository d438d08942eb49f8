"""The vault rows of the stranger matrix (``tests/strangers.py``): alice's secret."""

from __future__ import annotations

from typing import Any

from tests.conftest import Person
from tests.helpers import unique
from tests.strangers import Hidden, Open, Row


def world(alice: Person, admin: Person) -> dict[str, Any]:
    name = unique("secret")
    made = alice.http.post("/vault/secrets", json={"name": name, "password": "hunter2"})
    assert made.status_code == 201, made.text
    return {"name": name, "owner": alice.username}


def hers(world: dict[str, Any]) -> dict[str, Any]:
    return {"owner": world["owner"]}


S = "/vault/secrets/{name}"
TEST = "vault/test_secrets_api.py"

ROWS: list[Row] = [
    Open("POST", "/vault/secrets", "makes a secret in charlie's own vault", TEST),
    Open("GET", "/vault/secrets", "lists charlie's own vault", TEST),
    Hidden("GET", S, "owner_not_found", params=hers),
    Hidden("PATCH", S, "owner_not_found", params=hers, json={"description": "mine"}),
    Hidden("DELETE", S, "owner_not_found", params=hers),
    Hidden("POST", f"{S}/reveal", "owner_not_found", params=hers, json={}),
    Hidden("GET", f"{S}/audit", "owner_not_found", params=hers),
]

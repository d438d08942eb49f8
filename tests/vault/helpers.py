"""Shared by the vault tests: secrets with credentials no other text can contain by chance."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from tests.conftest import Person
from tests.helpers import unique


@dataclass(frozen=True)
class Stored:
    name: str
    username: str
    password: str
    body: dict[str, Any]


def credentials() -> tuple[str, str]:
    return f"user-{secrets.token_hex(8)}", f"pw-{secrets.token_hex(16)}"


def store(
    person: Person, *, description: str = "", details: dict[str, Any] | None = None
) -> Stored:
    """Create a secret as ``person`` through the API, with fresh random credentials."""
    name = unique("secret")
    username, password = credentials()
    response = person.http.post(
        "/vault/secrets",
        json={
            "name": name,
            "username": username,
            "password": password,
            "description": description,
            "details": details or {},
        },
    )
    assert response.status_code == 201, response.text
    return Stored(name=name, username=username, password=password, body=response.json())

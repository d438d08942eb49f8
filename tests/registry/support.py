"""Helpers shared by the registry tests: models made through the API, multipart pushes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from tests.conftest import Person
from tests.helpers import unique

INPUT = {"width": 8, "height": 8, "channels": 3, "layout": "NCHW"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_model(person: Person, name: str | None = None, **fields: Any) -> str:
    """A model definition of ``person`` through the API; returns its name."""
    name = name or unique("model")
    body: dict[str, Any] = {"name": name, "classes": ["cat", "dog"], "input": INPUT, **fields}
    response = person.http.post("/models", json=body)
    assert response.status_code == 201, response.text
    return name


def push(person: Person, model: str, files: dict[str, bytes], **fields: Any) -> httpx.Response:
    """POST a version as multipart: one ``files`` part per entry, form fields as given."""
    data = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in fields.items()}
    parts = [
        ("files", (name, content, "application/octet-stream")) for name, content in files.items()
    ]
    return person.http.post(f"/models/{model}/versions", data=data, files=parts)


def push_ok(person: Person, model: str, files: dict[str, bytes], **fields: Any) -> dict[str, Any]:
    response = push(person, model, files, **fields)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result

"""Free text a client writes (descriptions, captions, messages) has a documented size,
``MAX_TEXT_CHARS``: one character more is a 422, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from tests.conftest import Person
from tests.helpers import assert_error, unique

from visionhub.core.text import MAX_TEXT_CHARS


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/datasets", {}),
        ("/vault/secrets", {"username": "u", "password": "p"}),
        ("/models", {"classes": ["a"], "input": {"width": 8, "height": 8, "channels": 1}}),
    ],
)
def test_a_description_past_the_limit_is_422_and_one_at_it_is_kept(
    alice: Person, path: str, extra: dict[str, object]
) -> None:
    too_long = {"name": unique("long"), "description": "x" * (MAX_TEXT_CHARS + 1), **extra}
    error = assert_error(alice.http.post(path, json=too_long), 422, "validation_error")
    assert error["details"]["errors"][0]["loc"][-1] == "description"

    fits = {**too_long, "description": "x" * MAX_TEXT_CHARS}
    response = alice.http.post(path, json=fits)
    assert response.status_code == 201, response.text
    assert len(response.json()["description"]) == MAX_TEXT_CHARS


def test_a_patch_past_the_limit_is_422_and_changes_nothing(alice: Person) -> None:
    created = alice.http.post("/datasets", json={"name": unique("long")}).json()
    response = alice.http.patch(
        f"/datasets/{created['id']}", json={"description": "x" * (MAX_TEXT_CHARS + 1)}
    )
    assert_error(response, 422, "validation_error")
    assert alice.http.get(f"/datasets/{created['id']}").json()["description"] == ""

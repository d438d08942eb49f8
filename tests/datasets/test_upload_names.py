"""An image's file name (the part's, or the ``filename`` form field that overrides it) keeps no
control or direction-override characters (NUL, CR/LF, U+202E): stored the same, cleaned, on
SQLite and PostgreSQL (PostgreSQL refused a NUL, SQLite kept it)."""

from __future__ import annotations

import pytest
from tests.conftest import Person
from tests.factories import make_png
from tests.helpers import unique


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("a\x00b.png", "ab.png"),
        ("two\r\nlines.png", "twolines.png"),
        ("evil\u202egnp.exe.png", "evilgnp.exe.png"),
    ],
)
def test_control_and_override_characters_are_dropped_from_file_names(
    alice: Person, sent: str, stored: str
) -> None:
    dataset = alice.http.post("/datasets", json={"name": unique("names")}).json()["id"]
    response = alice.http.post(
        f"/datasets/{dataset}/images",
        files={"file": ("part.png", make_png(20, 20), "image/png")},
        data={"filename": sent},
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == stored

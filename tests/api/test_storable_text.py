"""Text no database can store (a NUL character) is a 4xx on SQLite and PostgreSQL alike,
wherever a client puts it, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.conftest import Person
from tests.helpers import assert_error, unique

NUL = "\x00"


def post_json(person: Person, path: str, document: Any) -> Any:
    # json.dumps writes the NUL as the escape \u0000, as every JSON encoder must.
    return person.http.post(
        path, content=json.dumps(document), headers={"Content-Type": "application/json"}
    )


def dataset_named(person: Person, name: str) -> list[Any]:
    items: list[Any] = person.http.get("/datasets", params={"name": name}).json()["items"]
    return items


@pytest.mark.parametrize(
    ("path", "document", "where"),
    [
        ("/datasets", {"name": "nul-in-text", "description": f"a{NUL}b"}, "$.description"),
        ("/datasets", {"name": "nul-in-details", "details": {f"k{NUL}": 1}}, "$.details"),
        (
            "/models",
            {
                "name": "nul-in-classes",
                "classes": ["cat", f"d{NUL}g"],
                "input": {"width": 8, "height": 8, "channels": 1, "layout": "NCHW"},
            },
            "$.classes[1]",
        ),
    ],
)
def test_a_nul_in_a_json_body_is_422_and_nothing_is_created(
    alice: Person, path: str, document: dict[str, Any], where: str
) -> None:
    response = post_json(alice, path, document)

    error = assert_error(response, 422, "invalid_json_value")
    assert error["details"]["path"] == where
    assert alice.http.get(f"{path}/{document['name']}").status_code in (404, 422)
    assert dataset_named(alice, document["name"]) == []


def test_the_text_backslash_u0000_is_not_a_nul_and_is_kept(alice: Person) -> None:
    name = unique("escaped")
    text = "a literal \\u0000, as typed"

    response = post_json(alice, "/datasets", {"name": name, "description": text})

    assert response.status_code == 201, response.text
    [dataset] = dataset_named(alice, name)
    assert dataset["description"] == text


def test_a_nul_in_a_query_parameter_or_the_path_is_400(alice: Person) -> None:
    for url in ("/datasets?name=a%00b", "/datasets?a%00=1", "/deployments/a%00b/stats"):
        assert_error(alice.http.get(url), 400, "invalid_text")


def test_a_nul_in_a_form_field_is_a_4xx(alice: Person) -> None:
    response = alice.http.post(
        "/classifications",
        data={"deployment": f"dep{NUL}loyment"},
        files={"file": ("x.png", b"not looked at", "image/png")},
    )

    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


def test_a_stranger_gets_the_same_answer_as_anyone(anonymous: Any) -> None:
    # Refused before authentication: there is nothing to protect in a NUL.
    assert_error(anonymous.get("/datasets?name=%00"), 400, "invalid_text")

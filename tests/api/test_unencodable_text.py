"""Text no database can encode (a lone surrogate, invalid UTF-8), numbers JSON has not
(``1e400``), JSON paths SQLite cannot read and documents nested past the limit are a 4xx in the
envelope on SQLite and PostgreSQL alike, wherever a client puts them, and nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.conftest import Person
from tests.factories import make_png
from tests.helpers import assert_error, unique

from visionhub.core.text import MAX_JSON_DEPTH

LONE = '"a\\ud800b"'  # a JSON string holding a lone (high) surrogate


def raw_json(http: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return http.post(path, content=body, headers={"Content-Type": "application/json"})


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def test_a_lone_surrogate_at_login_is_400_without_a_token(anonymous: httpx.Client) -> None:
    body = f'{{"username": {LONE}, "password": "whatever long"}}'.encode()
    assert_error(raw_json(anonymous, "/auth/login", body), 400, "invalid_json")


def test_invalid_utf8_in_a_json_body_is_400(anonymous: httpx.Client) -> None:
    body = b'{"username": "\xff\xfe", "password": "whatever long"}'
    assert_error(raw_json(anonymous, "/auth/login", body), 400, "invalid_json")


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/datasets", '{{"name": "{name}", "description": {lone}}}'),
        ("/datasets", '{{"name": "{name}", "details": {{{lone}: 1}}}}'),
        ("/vault/secrets", '{{"name": "{name}", "username": {lone}, "password": "p"}}'),
        ("/trainings", '{{"name": "{name}", "details": {{"k": {lone}}}}}'),
    ],
)
def test_a_lone_surrogate_in_a_json_body_is_400_and_nothing_is_created(
    alice: Person, path: str, template: str
) -> None:
    name = unique("surrogate")
    body = template.format(name=name, lone=LONE).encode()
    assert_error(raw_json(alice.http, path, body), 400, "invalid_json")
    listed = alice.http.get(path, params={"limit": 1000}).json()["items"]
    assert [item for item in listed if item.get("name") == name] == []


def test_an_escaped_surrogate_pair_is_a_character_and_is_kept(alice: Person) -> None:
    name = unique("emoji")
    body = f'{{"name": "{name}", "description": "\\ud83d\\ude00"}}'.encode()
    response = raw_json(alice.http, "/datasets", body)
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "\U0001f600"


@pytest.mark.parametrize(
    "params",
    [
        {"filters": 'machine.cpu == "\\ud800"'},
        {"contains": '{"a": "\\udc00"}'},
    ],
)
def test_a_lone_surrogate_in_a_query_parameter_is_400(alice: Person, params: Any) -> None:
    assert_error(alice.http.get("/benchmark-results", params=params), 400, "invalid_text")


def test_invalid_utf8_in_the_query_is_not_a_server_error(alice: Person) -> None:
    response = alice.http.get("/datasets?name=%ED%A0%80%FF")
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"filters": "machine.-1 >= 1"}, "invalid_filter"),
        ({"sort_by": "machine.-1"}, "invalid_filter"),
        ({"contains": '{"a": 1e400}'}, "invalid_contains"),
        ({"contains": '{"a": -1e400}'}, "invalid_contains"),
    ],
)
def test_bad_json_paths_and_numbers_in_result_queries_are_422(
    alice: Person, params: Any, code: str
) -> None:
    assert_error(alice.http.get("/benchmark-results", params=params), 422, code)


def test_a_document_nested_past_the_limit_is_422_with_its_path(alice: Person) -> None:
    name = unique("deep")
    body = f'{{"name": "{name}", "details": {nested(MAX_JSON_DEPTH + 1)}}}'.encode()
    error = assert_error(raw_json(alice.http, "/datasets", body), 422, "invalid_json_value")
    assert error["details"]["max"] == MAX_JSON_DEPTH
    fits = f'{{"name": "{name}", "details": {nested(MAX_JSON_DEPTH - 2)}}}'.encode()
    assert raw_json(alice.http, "/datasets", fits).status_code == 201


def test_a_compare_result_nested_990_deep_is_422(alice: Person) -> None:
    dataset = alice.http.post("/datasets", json={"name": unique("deep")}).json()["id"]
    label_set = alice.http.post(f"/datasets/{dataset}/label-sets", json={"name": "gt"})
    assert label_set.status_code == 201, label_set.text
    files = {"file": ("a.png", make_png(), "image/png")}
    image = alice.http.post(f"/datasets/{dataset}/images", files=files).json()["id"]
    body = (
        f'{{"label_set": {label_set.json()["id"]}, "bbox": [1, 1, 2, 2],'
        f' "compare_result": {nested(990)}}}'
    ).encode()
    response = raw_json(alice.http, f"/images/{image}/annotations", body)
    assert_error(response, 422, "invalid_json_value")


def test_a_form_field_nested_past_the_limit_is_422(alice: Person) -> None:
    dataset = alice.http.post("/datasets", json={"name": unique("deep")}).json()["id"]
    files = {"file": ("a.png", make_png(), "image/png")}
    response = alice.http.post(
        f"/datasets/{dataset}/images",
        files=files,
        data={"metadata": nested(MAX_JSON_DEPTH + 5)},
    )
    assert_error(response, 422, "invalid_json_value")

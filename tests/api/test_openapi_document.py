"""The OpenAPI document is true: it validates as OpenAPI 3, every schema name is one model's,
every reference resolves, and every operation documents its errors with the envelope."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

ERRORS = "#/components/schemas/ErrorEnvelope"


@pytest.fixture(scope="module")
def document(anonymous: httpx.Client) -> dict[str, Any]:
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200
    loaded: dict[str, Any] = response.json()
    return loaded


def test_it_validates_as_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(document)))
    dangling = {
        ref
        for ref in refs
        if not ref.startswith("#/components/schemas/") or ref.rsplit("/", 1)[-1] not in schemas
    }
    assert dangling == set()


def test_bodies_of_the_same_name_in_two_apps_keep_their_own_schema(
    document: dict[str, Any],
) -> None:
    claim = document["paths"]["/api/v1/worker/claim"]["post"]["requestBody"]
    schema = claim["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema == "inference.ClaimIn"
    assert "max" in document["components"]["schemas"][schema]["properties"]
    assert "benchmarks.ClaimIn" in document["components"]["schemas"]


def test_every_operation_documents_its_errors_with_the_envelope(
    document: dict[str, Any],
) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("4XX", "503"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"]["$ref"] == ERRORS, (method, path, status)

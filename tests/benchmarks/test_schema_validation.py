"""JSON Schema rules: schemas are checked against their meta-schema, results against a compiled
validator cached per benchmark, and a rejection lists every violation with its JSON path."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from tests.benchmarks.conftest import c_ray_results, c_ray_schema

from visionhub.benchmarks.services import inference_schema
from visionhub.benchmarks.validation import (
    check_schema,
    schema_hash,
    validate_result,
    validator_cache,
)
from visionhub.core.errors import Invalid
from visionhub.core.text import check_json_values


def _validate(schema: dict[str, Any], document: Any, benchmark_id: uuid.UUID | None = None) -> None:
    validate_result(benchmark_id or uuid.uuid4(), schema, schema_hash(schema), document)


def test_the_shipped_schemas_are_valid() -> None:
    check_schema(c_ray_schema())
    check_schema(inference_schema())


def test_every_real_c_ray_result_matches_its_schema() -> None:
    schema = c_ray_schema()
    benchmark_id = uuid.uuid4()
    for document in c_ray_results().values():
        _validate(schema, document, benchmark_id)


def test_an_invalid_schema_lists_every_problem() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integr"}, "b": {"minimum": "zero"}},
        "required": "a",
    }
    with pytest.raises(Invalid) as caught:
        check_schema(schema)
    error = caught.value
    assert (error.status, error.code) == (422, "invalid_json_schema")
    paths = [problem["path"] for problem in error.details["problems"]]
    assert paths == ["$.properties.a.type", "$.properties.b.minimum", "$.required"]


@pytest.mark.parametrize("schema", [[], "a string", 3, None])
def test_a_schema_must_be_an_object(schema: Any) -> None:
    with pytest.raises(Invalid) as caught:
        check_schema(schema)
    assert caught.value.code == "invalid_json_schema"


def test_an_unknown_meta_schema_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        check_schema({"$schema": "https://example.com/my-dialect", "type": "object"})
    assert caught.value.details["problems"][0]["path"] == "$.$schema"


@pytest.mark.parametrize(
    "ref", ["https://example.com/schema.json", "file:///etc/passwd", "other.json#/a"]
)
def test_references_outside_the_schema_are_refused(ref: str) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": ref}}}
    with pytest.raises(Invalid) as caught:
        check_schema(schema)
    assert caught.value.details["problems"] == [
        {
            "path": "$.properties.a.$ref",
            "message": f"only local references (#...) are allowed: {ref!r}",
        }
    ]


def test_a_rejected_result_lists_every_violation_with_its_path() -> None:
    document = json.loads(json.dumps(c_ray_results()["cesga-1"]))
    document["machine"]["cpu"]["count"] = "one"
    document["machine"]["cpu"]["hz_actual"] = [1, -2]
    document["result"]["score"] = -1
    document["units"] = "Minutes"
    del document["test"]
    with pytest.raises(Invalid) as caught:
        _validate(c_ray_schema(), document)
    error = caught.value
    assert (error.status, error.code) == (422, "invalid_result")
    assert error.details["count"] == 5
    assert [(v["path"], v["validator"]) for v in error.details["violations"]] == [
        ("$", "required"),
        ("$.machine.cpu.count", "type"),
        ("$.machine.cpu.hz_actual[1]", "minimum"),
        ("$.result.score", "exclusiveMinimum"),
        ("$.units", "enum"),
    ]


def test_the_compiled_validator_is_cached_per_benchmark_and_schema() -> None:
    validator_cache.clear()
    schema = c_ray_schema()
    first, second = uuid.uuid4(), uuid.uuid4()
    document = c_ray_results()["cesga-1"]
    _validate(schema, document, first)
    _validate(schema, document, first)
    _validate(schema, document, second)
    assert len(validator_cache.items) == 2
    changed = {**schema, "description": "changed"}
    _validate(changed, document, first)
    assert len(validator_cache.items) == 3


def test_draft_2020_12_schemas_validate_too() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"pair": {"prefixItems": [{"type": "integer"}, {"type": "string"}]}},
    }
    check_schema(schema)
    _validate(schema, {"pair": [1, "a"]})
    with pytest.raises(Invalid) as caught:
        _validate(schema, {"pair": ["a", 1]})
    assert [v["path"] for v in caught.value.details["violations"]] == ["$.pair[0]", "$.pair[1]"]


def test_formats_and_defaults_never_change_the_verdict_or_the_document() -> None:
    schema = {
        "type": "object",
        "properties": {"when": {"type": "string", "format": "date-time"}, "n": {"default": 3}},
    }
    document: dict[str, Any] = {"when": "not a date"}
    _validate(schema, document)
    assert document == {"when": "not a date"}


@pytest.mark.parametrize(
    "document",
    [{"a": float("nan")}, {"a": [1, float("inf")]}, {"a": "nul\x00"}, {"nul\x00": 1}],
)
def test_values_json_databases_cannot_store_are_refused(document: Any) -> None:
    with pytest.raises(Invalid) as caught:
        check_json_values(document)
    assert caught.value.code == "invalid_json_value"

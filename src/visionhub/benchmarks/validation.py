"""JSON Schema checks for benchmarks and results.

A benchmark's schema is checked against its own meta-schema (every problem listed). A result is
validated by a compiled validator cached per benchmark id and schema hash: fastjsonschema turns
the schema into Python code, so a valid result costs one function call. fastjsonschema stops at
the first error, so only when it fails is the result run again through ``jsonschema``'s
``iter_errors`` to list every violation with its JSON path. Schemas fastjsonschema does not
speak (drafts 2019-09 and 2020-12) use a cached ``jsonschema`` validator for both paths.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import fastjsonschema

# jsonschema ships no type information here (types-jsonschema is not a dependency).
from jsonschema import Draft7Validator, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from jsonschema.protocols import Validator  # type: ignore[import-untyped]

from visionhub.core.errors import Invalid
from visionhub.core.text import json_path

# Listing more than this many violations helps nobody; the count says how many there were.
MAX_LISTED_VIOLATIONS = 1000
CACHE_SIZE = 256
FAST_DRAFTS = ("draft-04", "draft-06", "draft-07")


def schema_hash(schema: dict[str, Any]) -> str:
    """A stable digest of a schema (key order does not matter)."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _walk_refs(node: Any, where: list[Any]) -> Iterator[tuple[list[Any], str]]:
    stack: list[tuple[Any, list[Any]]] = [(node, where)]
    while stack:
        current, at = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key in ("$ref", "$dynamicRef", "$recursiveRef") and isinstance(value, str):
                    yield [*at, key], value
                stack.append((value, [*at, key]))
        elif isinstance(current, list):
            stack.extend((value, [*at, i]) for i, value in enumerate(current))


def _validator_class(schema: dict[str, Any]) -> type[Validator]:
    return cast(type[Validator], validators.validator_for(schema, default=Draft7Validator))


def check_schema(schema: Any) -> None:
    """Raise ``invalid_json_schema`` (422) listing every problem unless ``schema`` is a valid
    JSON Schema object that only refers to its own parts (``$ref`` starting with ``#``)."""
    problems: list[dict[str, str]] = []
    if not isinstance(schema, dict):
        problems.append({"path": "$", "message": "a JSON Schema must be an object"})
    else:
        declared = schema.get("$schema")
        if declared is not None and (
            not isinstance(declared, str)
            or validators.validator_for(schema, default=_Unknown) is _Unknown
        ):
            problems.append({"path": "$.$schema", "message": f"unknown $schema {declared!r}"})
        else:
            cls = _validator_class(schema)
            meta = cls(cls.META_SCHEMA)
            problems.extend(
                {"path": json_path(error.absolute_path), "message": error.message}
                for error in meta.iter_errors(schema)
            )
        problems.extend(
            {"path": json_path(at), "message": f"only local references (#...) are allowed: {ref!r}"}
            for at, ref in _walk_refs(schema, [])
            if not ref.startswith("#")
        )
        if not problems:
            try:
                _compile(schema)
            except SchemaError as exc:
                problems.append({"path": json_path(exc.absolute_path), "message": exc.message})
            except Exception as exc:
                problems.append({"path": "$", "message": f"cannot compile the schema: {exc}"})
    if problems:
        problems.sort(key=lambda p: p["path"])
        raise Invalid(
            "invalid_json_schema",
            f"json_schema is not a valid JSON Schema ({len(problems)} problems)",
            details={"problems": problems},
        )


class _Unknown:
    """What ``validator_for`` answers for a ``$schema`` it does not know."""


def _deny_remote(uri: str) -> Any:
    raise Invalid("invalid_json_schema", f"remote references are not allowed: {uri}")


@dataclass(frozen=True)
class CompiledSchema:
    """``fast`` raises on the first error (or returns None); ``full`` lists every error."""

    fast: Callable[[Any], Any] | None
    full: Validator

    def is_valid(self, document: Any) -> bool:
        if self.fast is None:
            return bool(self.full.is_valid(document))
        try:
            self.fast(document)
        except fastjsonschema.JsonSchemaException:
            return False
        return True


def _compile(schema: dict[str, Any]) -> CompiledSchema:
    cls = _validator_class(schema)
    full = cls(schema)
    fast = None
    declared = str(schema.get("$schema", "draft-07"))
    if any(draft in declared for draft in FAST_DRAFTS):
        # No formats and no defaults, to agree with jsonschema (which checks no format by
        # default) and to never modify the document. Remote references are refused.
        fast = fastjsonschema.compile(
            schema,
            handlers=dict.fromkeys(("", "http", "https", "file", "ftp"), _deny_remote),
            use_default=False,
            use_formats=False,
        )
    return CompiledSchema(fast=fast, full=full)


class _Cache:
    """A small LRU of compiled validators keyed by (benchmark id, schema hash)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[UUID, str], CompiledSchema] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[UUID, str], schema: dict[str, Any]) -> CompiledSchema:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
                return found
        compiled = _compile(schema)  # outside the lock: compiling can take milliseconds
        with self.lock:
            self.items[key] = compiled
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return compiled

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


validator_cache = _Cache(CACHE_SIZE)


def violations(compiled: CompiledSchema, document: Any) -> tuple[list[dict[str, str]], int]:
    """Every violation of ``document`` (up to ``MAX_LISTED_VIOLATIONS``) and their count."""
    listed: list[dict[str, str]] = []
    count = 0
    for error in compiled.full.iter_errors(document):
        count += 1
        if len(listed) < MAX_LISTED_VIOLATIONS:
            listed.append(
                {
                    "path": error.json_path,
                    "message": error.message,
                    "validator": str(error.validator),
                }
            )
    listed.sort(key=lambda v: v["path"])
    return listed, count


def validate_result(benchmark_id: UUID, schema: dict[str, Any], digest: str, document: Any) -> None:
    """Raise ``invalid_result`` (422) listing every violation unless ``document`` matches."""
    compiled = validator_cache.get((benchmark_id, digest), schema)
    if compiled.is_valid(document):
        return
    listed, count = violations(compiled, document)
    if count == 0:
        # fastjsonschema and jsonschema disagree (a dialect corner); jsonschema decides.
        return
    raise Invalid(
        "invalid_result",
        f"the result does not match the benchmark's JSON Schema ({count} violations)",
        details={"violations": listed, "count": count},
    )

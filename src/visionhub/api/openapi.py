"""A true OpenAPI document: unique schema names, every reference resolvable, errors documented.

ninja names each component after its class alone and merges them into one dict, so two apps'
``ClaimIn`` silently became one (``/worker/claim`` documented the benchmarks' claim body). Here a
class whose name another VisionHub model also has is named ``<app>.<Class>`` (``inference.ClaimIn``,
``benchmarks.ClaimIn``), whenever it is defined, so names added later stay unique too. References
written by hand in ``openapi_extra`` to a model the document does not otherwise hold, or to a
model's local ``#/$defs/``, are completed from that model. Every operation documents the error
envelope for its 4xx answers and for 503 ``database_busy``, and has an id of its own.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

from ninja import NinjaAPI, Schema
from ninja.openapi import schema as ninja_openapi
from ninja.schema import NinjaGenerateJsonSchema
from pydantic import BaseModel
from pydantic.json_schema import CoreModeRef, DefsRef

BASE_GENERATOR = NinjaGenerateJsonSchema
ERROR_SCHEMA = "ErrorEnvelope"


class ErrorBody(Schema):
    code: str
    message: str
    details: dict[str, Any]


class ErrorEnvelope(Schema):
    error: ErrorBody


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    stack: list[type[BaseModel]] = [BaseModel]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("visionhub."):
                found.append(sub)
    return found


@functools.cache
def _shared_names() -> frozenset[str]:
    """Class names that more than one VisionHub model has (computed once every app is loaded:
    the first document is generated after the API has imported them all)."""
    owners: dict[str, set[str]] = defaultdict(set)
    for model in _models():
        owners[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
    return frozenset(name for name, modules in owners.items() if len(modules) > 1)


def _by_name(name: str) -> type[BaseModel] | None:
    matches = {m for m in _models() if m.__name__ == name or _qualified(m) == name}
    return matches.pop() if len(matches) == 1 else None


def _qualified(model: type[BaseModel]) -> str:
    app = model.__module__.split(".")[1]
    return f"{app}.{model.__name__}" if model.__name__ in _shared_names() else model.__name__


class QualifiedNames(BASE_GENERATOR):
    """ninja's JSON-schema generator, with ``<app>.<Class>`` for names VisionHub shares."""

    def get_defs_ref(self, core_mode_ref: CoreModeRef) -> DefsRef:
        defs_ref: DefsRef = super().get_defs_ref(core_mode_ref)
        core_ref = core_mode_ref[0].rsplit(":", 1)[0]
        if "[" in core_ref or not core_ref.startswith("visionhub."):
            return defs_ref
        module, _, name = core_ref.rpartition(".")
        if name in _shared_names():
            app = module.split(".")[1]
            self._prioritized_defsref_choices[defs_ref].insert(0, DefsRef(f"{app}.{name}"))
        return defs_ref


# ninja builds every schema with this generator; ours only renames what would collide.
ninja_openapi.NinjaGenerateJsonSchema = QualifiedNames  # type: ignore[attr-defined]


def _refs(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _complete_references(document: dict[str, Any]) -> None:
    components: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for _ in range(10):  # added schemas may refer to more
        missing = False
        for ref in _refs(document):
            target: str = ref["$ref"]
            name = target.rsplit("/", 1)[-1]
            if target.startswith("#/$defs/"):
                model = _by_name(name)
                ref["$ref"] = f"#/components/schemas/{_qualified(model) if model else name}"
                name = ref["$ref"].rsplit("/", 1)[-1]
            if name in components:
                continue
            model = _by_name(name)
            if model is None:
                continue
            missing = True
            generated = model.model_json_schema(
                ref_template=ninja_openapi.REF_TEMPLATE, schema_generator=QualifiedNames
            )
            components.update(generated.pop("$defs", {}))
            components[_qualified(model)] = generated
            ref["$ref"] = f"#/components/schemas/{_qualified(model)}"
        if not missing:
            return


def _document_errors(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    generated = ErrorEnvelope.model_json_schema(
        ref_template=ninja_openapi.REF_TEMPLATE, schema_generator=QualifiedNames
    )
    components.update(generated.pop("$defs", {}))
    components[ERROR_SCHEMA] = generated
    envelope = {
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
        }
    }
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault("4XX", {"description": "Error (the envelope)", **envelope})
            responses.setdefault(
                "503", {"description": "Database busy: retry (the envelope)", **envelope}
            )


def _unique_operation_ids(document: dict[str, Any]) -> None:
    """ninja gives an operation served for GET and HEAD one id twice: the second gets its
    method as a suffix."""
    seen: set[str] = set()
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            operation_id = operation.get("operationId")
            if operation_id in seen:
                # The two methods share one dict: the renamed one gets its own.
                item[method] = operation = {**operation, "operationId": f"{operation_id}_{method}"}
            seen.add(operation["operationId"])


class VisionHubAPI(NinjaAPI):
    """The NinjaAPI whose OpenAPI document is true (see the module's docstring)."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        document = super().get_openapi_schema(*args, **kwargs)
        _complete_references(document)
        _document_errors(document)
        _unique_operation_ids(document)
        return document

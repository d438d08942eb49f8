"""Text every database can store.

PostgreSQL refuses the NUL character in ``text`` and ``jsonb`` values (SQLite keeps it), no
database encodes a lone surrogate (``"\\ud800"`` in JSON) as UTF-8, and NaN and Infinity
(``1e400``) are not JSON numbers: values holding them are refused with a 4xx on both databases,
before anything is written, instead of failing in the database with a 500 on one. Free JSON
values (details, metadata, compare_result, a benchmark's json) nest at most ``MAX_JSON_DEPTH``
levels: deeper documents broke the encoders' recursion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Annotated, Any

import orjson
from pydantic import Field

from visionhub.core.errors import ApiError, Invalid

NUL = "\x00"
MAX_JSON_DEPTH = 64
# Free text a client writes (descriptions, captions, messages) is stored and listed whole in
# every page that shows it: bounded, so a page stays a page.
MAX_TEXT_CHARS = 20_000
LongText = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON escape of a lone surrogate: a high one not followed by a low one, or a low one alone.
_LONE_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def storable_text_problem(text: str) -> str | None:
    """What makes ``text`` unstorable (a NUL, a lone surrogate, or the JSON escape of one,
    which a JSON-valued parameter would decode to one), or None."""
    if NUL in text:
        return "a NUL character"
    if _SURROGATE.search(text) or _LONE_SURROGATE_ESCAPE.search(text):
        return "a lone surrogate"
    return None


def parse_json(data: str | bytes) -> Any:
    """Decode JSON strictly: UTF-8 only, no lone surrogates, NaN, Infinity or numbers that
    overflow to it (``ValueError``), then ``check_json_values`` (``Invalid``, 422)."""
    document = orjson.loads(data)
    check_json_values(document)
    return document


def invalid_json(exc: ValueError) -> ApiError:
    """The 400 ``invalid_json`` for a body ``parse_json`` could not decode."""
    return ApiError(
        "invalid_json",
        "the request body is not valid JSON (UTF-8, no lone surrogates, finite numbers)",
        details={"reason": str(exc)[:200]},
    )


def json_path(parts: Iterable[Any]) -> str:
    """``$.a[0].b`` for the keys and indexes ``parts``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_json_values(document: Any) -> None:
    """Refuse what JSON databases cannot store: NaN/Infinity, NUL characters, lone
    surrogates, and nesting deeper than ``MAX_JSON_DEPTH`` (422 ``invalid_json_value``)."""
    stack: list[tuple[Any, list[Any]]] = [(document, [])]
    while stack:
        node, at = stack.pop()
        if len(at) > MAX_JSON_DEPTH:
            raise Invalid(
                "invalid_json_value",
                f"JSON values nest at most {MAX_JSON_DEPTH} levels",
                details={"path": json_path(at[:MAX_JSON_DEPTH]) + "…", "max": MAX_JSON_DEPTH},
            )
        if isinstance(node, str) and _SURROGATE.search(node):
            raise Invalid(
                "invalid_json_value",
                "strings may not hold lone surrogates",
                details={"path": json_path(at)},
            )
        if isinstance(node, float) and not math.isfinite(node):
            raise Invalid(
                "invalid_json_value",
                "NaN and Infinity are not JSON numbers",
                details={"path": json_path(at)},
            )
        if isinstance(node, str) and "\x00" in node:
            raise Invalid(
                "invalid_json_value", "strings may not hold NUL", details={"path": json_path(at)}
            )
        if isinstance(node, dict):
            for key, value in node.items():
                if "\x00" in key or _SURROGATE.search(key):
                    raise Invalid(
                        "invalid_json_value",
                        "keys may not hold NUL or lone surrogates",
                        details={"path": json_path(at)},
                    )
                stack.append((value, [*at, key]))
        elif isinstance(node, list):
            stack.extend((value, [*at, i]) for i, value in enumerate(node))

"""Text every database can store.

PostgreSQL refuses the NUL character in ``text`` and ``jsonb`` values (SQLite keeps it), and
NaN and Infinity are not JSON numbers: values holding them are refused with a 4xx on both
databases, before anything is written, instead of failing in the database with a 500 on one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from visionhub.core.errors import Invalid

NUL = "\x00"


def json_path(parts: Iterable[Any]) -> str:
    """``$.a[0].b`` for the keys and indexes ``parts``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_json_values(document: Any) -> None:
    """Refuse what JSON databases cannot store: NaN/Infinity and NUL characters (422)."""
    stack: list[tuple[Any, list[Any]]] = [(document, [])]
    while stack:
        node, at = stack.pop()
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
                if "\x00" in key:
                    raise Invalid(
                        "invalid_json_value",
                        "keys may not hold NUL",
                        details={"path": json_path(at)},
                    )
                stack.append((value, [*at, key]))
        elif isinstance(node, list):
            stack.extend((value, [*at, i]) for i, value in enumerate(node))

"""The stranger matrix: what charlie (a stranger) gets from every endpoint of the API.

Every app keeps its rows in ``tests/<app>/strangers.py``: a ``ROWS`` list and a
``world(alice, admin)`` function that makes alice's things and returns the values of the
rows' path parameters. ``tests/api/test_stranger_matrix.py`` reads the routes registered on the
NinjaAPI and fails for an endpoint without a row (and for a row without an endpoint), then makes
charlie's call of every ``Hidden`` row. A new endpoint therefore ships with its row:

- ``Hidden``: the path (or body) names alice's private thing; charlie gets 404 with ``code``,
  exactly as for something that does not exist;
- ``Open``: a stranger may call it (it lists or makes his own things, or needs no account);
  ``test`` names the test module that shows he sees nothing of alice's there;
- ``Pending``: the endpoint is being built; ``owner`` names who adds its row, and the matrix
  reports it as skipped, never silently.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conftest import Person

TESTS = Path(__file__).resolve().parent

World = Mapping[str, Any]
WorldMaker = Callable[[Person, Person], World]


@dataclass(frozen=True)
class Hidden:
    """Charlie's call answers 404 ``code``. ``fill`` maps a path parameter to the key of the
    app's world that holds its value (default: the parameter's own name); ``json``, ``data``
    and ``files`` make a body that passes validation, so that the access check is what
    answers; a callable gets the world."""

    method: str
    path: str
    code: str
    fill: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    data: Any = None
    files: Any = None
    params: Any = None

    def url(self, world: World) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(world[self.fill.get(name, name)])

        return re.sub(r"\{(\w+)\}", value, self.path)

    def request(self, world: World) -> dict[str, Any]:
        """The keyword arguments of charlie's ``httpx`` call."""
        out: dict[str, Any] = {}
        for key in ("json", "data", "files", "params"):
            part = getattr(self, key)
            if part is not None:
                out[key] = part(world) if callable(part) else part
        return out


@dataclass(frozen=True)
class Open:
    """A stranger may call this endpoint; ``test`` (a path under tests/) shows what he gets."""

    method: str
    path: str
    why: str
    test: str


@dataclass(frozen=True)
class Pending:
    """An endpoint whose row ``owner`` is adding (a helper building it right now)."""

    method: str
    path: str
    owner: str
    why: str


Row = Hidden | Open | Pending


@dataclass(frozen=True)
class Table:
    app: str
    rows: list[Row]
    world: WorldMaker | None


def tables() -> list[Table]:
    """Every ``tests/<app>/strangers.py``, in the order of the apps' names."""
    found: list[Table] = []
    for path in sorted(TESTS.glob("*/strangers.py")):
        module: ModuleType = importlib.import_module(f"tests.{path.parent.name}.strangers")
        found.append(Table(path.parent.name, list(module.ROWS), getattr(module, "world", None)))
    return found


def route_key(method: str, path: str) -> tuple[str, str]:
    """``("GET", "/classifications/{request_id}")``: path converters (``int:``) dropped."""
    return method.upper(), re.sub(r"\{\w+:(\w+)\}", r"{\1}", path)

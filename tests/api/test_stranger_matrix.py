"""Every endpoint of the API has a row in the stranger matrix, and charlie gets what it says.

The routes are read from the NinjaAPI itself, so an endpoint added without its row fails here
(see ``tests/strangers.py`` for how to add one).
"""

from __future__ import annotations

import re

import httpx
import pytest
from tests.conftest import Person
from tests.helpers import assert_error
from tests.strangers import TESTS, Hidden, Open, Pending, Row, World, route_key, tables

from visionhub.api.main import api


def registered_routes() -> dict[tuple[str, str], bool]:
    """(method, path) of every operation mounted on the API → whether it asks for a token."""
    import visionhub.urls  # noqa: F401 (mounting the routers binds the API's operations)

    routes: dict[tuple[str, str], bool] = {}
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    routes[route_key(method, prefix + path)] = bool(operation.auth_callbacks)
    return routes


ROUTES = registered_routes()
TABLES = tables()
ROWS: list[tuple[str, Row]] = [(t.app, row) for t in TABLES for row in t.rows]


def row_id(item: tuple[str, Row]) -> str:
    return f"{item[1].method} {item[1].path}"


def test_every_endpoint_has_exactly_one_row_and_every_row_an_endpoint() -> None:
    keys = [route_key(row.method, row.path) for _, row in ROWS]
    doubled = sorted({k for k in keys if keys.count(k) > 1})
    assert not doubled, f"endpoints with two rows: {doubled}"
    missing = sorted(set(ROUTES) - set(keys))
    assert not missing, (
        "endpoints without a row in a tests/<app>/strangers.py (what does charlie get?): "
        + ", ".join(f"{m} {p}" for m, p in missing)
    )
    stale = sorted(set(keys) - set(ROUTES))
    assert not stale, f"rows of endpoints that do not exist: {stale}"


@pytest.mark.parametrize("item", [i for i in ROWS if isinstance(i[1], Open)], ids=row_id)
def test_an_open_endpoint_names_the_test_of_what_a_stranger_gets_there(
    item: tuple[str, Row],
) -> None:
    row = item[1]
    assert isinstance(row, Open)
    test = TESTS / row.test
    assert test.is_file(), f"{row.method} {row.path}: no test module {row.test}"
    assert row.why


@pytest.fixture(scope="module")
def worlds() -> dict[str, World]:
    """Alice's things, made once per app on first use (see ``world_of``)."""
    return {}


def world_of(app: str, worlds: dict[str, World], alice: Person, admin: Person) -> World:
    if app not in worlds:
        maker = next(t.world for t in TABLES if t.app == app)
        assert maker is not None, f"tests/{app}/strangers.py has Hidden rows but no world()"
        worlds[app] = maker(alice, admin)
    return worlds[app]


@pytest.mark.parametrize(
    "item", [i for i in ROWS if isinstance(i[1], Hidden | Pending)], ids=row_id
)
def test_charlie_gets_404_from_an_endpoint_that_names_alices_thing(
    item: tuple[str, Row],
    worlds: dict[str, World],
    alice: Person,
    admin: Person,
    charlie: Person,
) -> None:
    app, row = item
    if isinstance(row, Pending):
        pytest.skip(f"pending, row to be added by {row.owner}: {row.why}")
    assert isinstance(row, Hidden)
    world = world_of(app, worlds, alice, admin)
    response = charlie.http.request(row.method, row.url(world), **row.request(world))
    if row.method == "HEAD":  # no body to carry the code
        assert response.status_code == 404
    else:
        assert_error(response, 404, row.code)


@pytest.mark.parametrize(
    "key", sorted(k for k, needs_token in ROUTES.items() if needs_token), ids=" ".join
)
def test_an_endpoint_that_needs_a_token_answers_401_without_one(
    key: tuple[str, str], anonymous: httpx.Client
) -> None:
    method, path = key
    url = re.sub(r"\{\w+\}", "1", path)  # any value: authentication comes first
    response = anonymous.request(method, url)
    if method == "HEAD":
        assert response.status_code == 401
    else:
        assert_error(response, 401)

"""The browser-test harness: Debian's Chromium driven by Playwright against a real server.

Browser builds cannot be downloaded here, so Playwright launches ``/usr/bin/chromium``
(``VISIONHUB_TEST_CHROMIUM`` overrides it) headless, with a fresh profile per launch (Playwright
gives every launch its own temporary user-data-dir). Every test gets a new browser context:
no cookie, cache or storage survives from one test to the next.

The people of these modules have a password, so that they sign in through the login page as a
person would (``sign_in``). Every page's console is watched: a Content-Security-Policy
violation (an inline script, a third-party resource) fails the test that caused it.

Modules here mark themselves ``process`` (they need the real server) and ``browser``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from tests.conftest import LiveServer, Person, PersonFactory, Server

# Playwright's sync API keeps an event loop on the main thread, which Django's ORM takes for
# an async context; the ORM calls of these tests (``committed()``) are plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = os.environ.get("VISIONHUB_TEST_CHROMIUM") or shutil.which("chromium") or ""
    if not found or not Path(found).exists():
        pytest.fail("Chromium is not installed: apt-get install chromium (.ci/run does it)")
    return found


@pytest.fixture(autouse=True)
def _close_connections_opened_beside_playwright() -> Iterator[None]:
    """Close the database connections a test opened (``committed()``) while Playwright's loop
    ran: Django keeps them apart from the others, and one left open would stop the test
    database from being dropped at the end of the run."""
    yield
    from django.db import connections

    connections.close_all()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


class ConsoleWatch:
    """Console errors of a context's pages; CSP violations among them fail the test."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]


@pytest.fixture
def context(chromium: Browser, server: LiveServer) -> Iterator[BrowserContext]:
    made = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    made.set_default_timeout(15_000)
    watch = ConsoleWatch()
    made.on("page", watch.attach)
    made.visionhub_console = watch  # type: ignore[attr-defined]
    yield made
    made.close()
    assert not watch.csp_violations(), watch.csp_violations()
    uncaught = [e for e in watch.errors if e.startswith("uncaught:")]
    assert not uncaught, uncaught


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def console_errors(page: Page) -> list[str]:
    watch: ConsoleWatch = page.context.visionhub_console  # type: ignore[attr-defined]
    return watch.errors


def sign_in(page: Page, person: Person, password: str = PASSWORD) -> Page:
    """Sign ``person`` in through the login page, as a person would, and land on home."""
    page.goto("/login/")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


SignIn = Callable[[Person], Page]


@pytest.fixture
def signed_in(context: BrowserContext) -> SignIn:
    """``signed_in(alice)``: a new page of this test's context with alice signed in.

    One context holds one session: sign a second person in with ``other_browser``."""

    def open_as(person: Person) -> Page:
        return sign_in(context.new_page(), person)

    return open_as


@pytest.fixture
def other_browser(chromium: Browser, server: LiveServer) -> Iterator[SignIn]:
    """Sign people in each in a browser context of their own (two sessions side by side)."""
    made: list[BrowserContext] = []

    def open_as(person: Person) -> Page:
        ctx = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        made.append(ctx)
        return sign_in(ctx.new_page(), person)

    yield open_as
    for ctx in made:
        ctx.close()


# --- people with passwords --------------------------------------------------------------------


@pytest.fixture(scope="module")
def alice(make_person: PersonFactory) -> Person:
    return make_person("alice", password=PASSWORD)


@pytest.fixture(scope="module")
def bob(make_person: PersonFactory) -> Person:
    return make_person("bob", password=PASSWORD)


@pytest.fixture(scope="module")
def charlie(make_person: PersonFactory) -> Person:
    return make_person("charlie", password=PASSWORD)


@pytest.fixture(scope="module")
def admin(make_person: PersonFactory) -> Person:
    return make_person("admin", staff=True, password=PASSWORD)


def pixel(page: Page, selector: str, x: float, y: float) -> tuple[int, int, int, int]:
    """The RGBA of canvas ``selector`` at canvas pixel (x, y), read in the page."""
    value: Any = page.eval_on_selector(
        selector,
        "(c, [x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data)",
        [x, y],
    )
    r, g, b, a = (int(v) for v in value)
    return r, g, b, a


# --- pages over plain HTTP (headers, status codes, redirects) ----------------------------------

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(client: httpx.Client, path: str = "/login/") -> str:
    """The CSRF token of the form on ``path`` (its cookie stays in ``client``)."""
    match = CSRF_INPUT.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match[1]


def http_sign_in(client: httpx.Client, person: Person, password: str = PASSWORD) -> httpx.Response:
    return client.post(
        "/login/",
        data={
            "username": person.username,
            "password": password,
            "csrfmiddlewaretoken": csrf_token(client),
        },
    )


@pytest.fixture
def browserless(server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of the pages that keeps cookies and does not follow redirects."""
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as client:
        yield client


@pytest.fixture
def session_of(server: Server) -> Iterator[Callable[[Person], httpx.Client]]:
    """``session_of(alice)``: an HTTP client signed in as alice through the login form (in
    either ring: in-process it goes through the app's WSGI transport)."""
    made: list[httpx.Client] = []

    def open_as(person: Person) -> httpx.Client:
        client = server.http(base_url=server.url, timeout=60, follow_redirects=False)
        made.append(client)
        response = http_sign_in(client, person)
        assert response.status_code == 302, response.text
        return client

    yield open_as
    for client in made:
        client.close()

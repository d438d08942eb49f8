"""Shared fixtures: the database pass, the server of each module, and the people of every test.

Two rings (docs/testing.md). By default a module's ``server`` is the app IN-PROCESS: requests go
through httpx's WSGI transport into Django's real handler, middleware and database, and
``server.cli`` runs the real click commands in-process. A module whose point is a process
(long-polls, worker processes, signals, restarts, the browser) declares
``pytestmark = pytest.mark.process`` and gets a real ``visionhub serve`` on a free port instead;
``pytest -m process`` runs that ring alone, ``pytest -m "not process"`` the in-process one.

People with known rights (STYLE.md rule 8): ``alice`` owns things, ``bob`` is made a member by
the tests that need one, ``charlie`` is a stranger who must get 404 everywhere, ``admin`` is
staff, ``worker`` may claim classification work.

In both rings requests commit, as a server does: tests never use the ``db`` fixture (its rollback
would hide rows from the requests and from processes), they create what they need through the API,
or through services inside ``committed()``, under names made by ``unique()``.
"""

from __future__ import annotations

import io
import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from django.conf import settings
from django.db import connection
from tests.helpers import database_url, free_port, unique, wait_until

from visionhub.client import Client
from visionhub.client.base import BaseClient


@pytest.fixture(scope="session")
def django_db_setup(
    django_test_environment: None, django_db_modify_db_settings: None, django_db_blocker: Any
) -> Iterator[None]:
    """The test database, created once per run (per xdist worker) whatever the tests' marks.

    pytest-django only creates it when some test carries a ``django_db`` mark; live-server
    tests use it without one.
    """
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
        )
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        # In-process requests on PostgreSQL keep pooled connections open; DROP DATABASE waits
        # for none.
        connections.close_all()
        for conn in connections.all(initialized_only=True):
            close_pool = getattr(conn, "close_pool", None)
            if close_pool is not None:
                close_pool()
        if connection.vendor == "postgresql":
            # A process the tests started may not have exited yet (a server's task worker
            # notices its parent's end on its next poll): end its sessions, or DROP fails.
            name = connection.settings_dict["NAME"]
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [name],
                )
            connection.close()
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def process_env(django_db_setup: None) -> dict[str, str]:
    """Environment for server, CLI and worker processes: same database, blobs and secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONHUB_")}
    env.update(
        DJANGO_SETTINGS_MODULE="visionhub.settings",
        VISIONHUB_HOME=str(settings.VISIONHUB_HOME),
        VISIONHUB_DATABASE_URL=database_url(),
        VISIONHUB_STORAGE_URL=settings.STORAGE_URL,
        VISIONHUB_SECRET_KEY=settings.SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    return env


class Server:
    """What tests use of a server, in either ring: its URLs, HTTP clients and the CLI."""

    url: str
    env: dict[str, str]

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def transport(self) -> httpx.BaseTransport | None:
        """The transport clients of this server need (None: a real socket)."""
        return None

    def http(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """A raw HTTP client on ``/api/v1`` (with ``token`` as Bearer when given)."""
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 120)
        return httpx.Client(
            base_url=kwargs.pop("base_url", self.api),
            headers=headers,
            transport=self.transport(),
            **kwargs,
        )

    def client(self, token: str | None) -> Client:
        """The Python client (``visionhub.client.Client``) with ``token``."""
        return Client(self.url, token, transport=self.transport())

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request to an absolute URL of this server (like ``httpx.request``)."""
        options = {k: kwargs.pop(k) for k in ("follow_redirects", "timeout") if k in kwargs}
        with self.http(base_url=self.url, **options) as http:
            return http.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def log(self) -> str:
        """What the server has logged so far."""
        raise NotImplementedError

    def cli(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        raise NotImplementedError

    def cli_process(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``visionhub`` as a real process on this server's database, blobs and settings.

        In-process, only server-side verbs can run so: the server has no socket to reach.
        """
        result = subprocess.run(
            [sys.executable, "-m", "visionhub", *args],
            input=input,
            capture_output=True,
            text=True,
            env={**self.env, "VISIONHUB_SERVER": self.url, **(env or {})},
            timeout=600,
        )
        return self._checked(args, result, check)

    @staticmethod
    def _checked(
        args: tuple[str, ...], result: subprocess.CompletedProcess[str], check: bool
    ) -> subprocess.CompletedProcess[str]:
        if check and result.returncode != 0:
            raise AssertionError(
                f"visionhub {shlex.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result


class InProcessServer(Server):
    """The app in this test process: real handler, middleware, database and blobs, no socket."""

    url = "http://testserver"

    def __init__(self, env: dict[str, str]) -> None:
        from django.core.wsgi import get_wsgi_application

        self.env = env
        self._app = get_wsgi_application()
        self._log = io.StringIO()
        self._log_handler = logging.StreamHandler(self._log)
        self._log_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )

    def __enter__(self) -> InProcessServer:
        # What a server process would write to its log, kept for tests that read ``log()``.
        logging.getLogger().addHandler(self._log_handler)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self._log_handler)

    def log(self) -> str:
        return self._log.getvalue()

    def transport(self) -> httpx.BaseTransport:
        return httpx.WSGITransport(app=self._app)

    def cli(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``visionhub`` click commands in-process; client verbs reach this app."""
        from click.testing import CliRunner

        from visionhub.cli import main as visionhub_cli

        original_init = BaseClient.__init__
        transport = self.transport()

        def init(client: BaseClient, *a: Any, **kw: Any) -> None:
            kw.setdefault("transport", transport)
            original_init(client, *a, **kw)

        runner = CliRunner()
        with mock.patch.object(BaseClient, "__init__", init):
            outcome = runner.invoke(
                visionhub_cli,
                list(args),
                input=input,
                env={"VISIONHUB_SERVER": self.url, **(env or {})},
                catch_exceptions=False,
            )
        result = subprocess.CompletedProcess(
            ["visionhub", *args], outcome.exit_code, outcome.stdout, outcome.stderr
        )
        return self._checked(args, result, check)


@dataclass
class LiveServer(Server):
    """A real ``visionhub serve`` process on a free port (the process ring)."""

    url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cli(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``visionhub`` command against this server's database and blobs."""
        return self.cli_process(*args, input=input, check=check, env=env)

    def start(self) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "visionhub",
                "serve",
                "--port",
                str(port),
                "--workers",
                "1",
                "--threads",
                "96",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            try:
                return httpx.get(f"{self.api}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def start_server(
    env: dict[str, str], tmp: Path, extra_env: dict[str, str] | None = None
) -> LiveServer:
    server = LiveServer(
        url=f"http://127.0.0.1:{free_port()}",
        env={**env, **(extra_env or {})},
        log_path=tmp / "server.log",
    )
    server.start()
    return server


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Extra environment for this module's server process (process ring only)."""
    return {}


@pytest.fixture(scope="module")
def server_settings() -> dict[str, Any]:
    """Django settings this module's server runs with (both rings); override in a module.

    In-process they are overridden for the module; a server process gets each one as the
    ``VISIONHUB_*`` variable named in ``SETTING_VARIABLES``.
    """
    return {}


# How a setting of ``server_settings`` reaches a server process: its variable and unit.
SETTING_VARIABLES: dict[str, tuple[str, int]] = {
    "DATA_UPLOAD_MAX_MEMORY_SIZE": ("VISIONHUB_MAX_JSON_MB", 1024 * 1024),
    "MAX_IMAGE_BYTES": ("VISIONHUB_MAX_IMAGE_MB", 1024 * 1024),
    "MAX_IMAGE_PIXELS": ("VISIONHUB_MAX_IMAGE_PIXELS", 1),
    "LEASE_SECONDS": ("VISIONHUB_LEASE_SECONDS", 1),
    "OIDC_AUDIENCE": ("VISIONHUB_OIDC_AUDIENCE", 1),
}


def settings_as_env(values: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, value in values.items():
        if name == "OIDC_ISSUERS":
            env["VISIONHUB_OIDC_ISSUERS"] = ",".join(value)
            continue
        variable, unit = SETTING_VARIABLES[name]
        env[variable] = str(value // unit) if unit != 1 else str(value)
    return env


def in_process_ring(request: pytest.FixtureRequest) -> bool:
    """Whether the requesting module runs in-process (it is not marked ``process``)."""
    return request.node.get_closest_marker("process") is None


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    process_env: dict[str, str],
    server_env: dict[str, str],
    server_settings: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    django_db_blocker: Any,
) -> Iterator[Server]:
    """This module's server: in-process, or a real ``visionhub serve`` in the process ring."""
    if in_process_ring(request):
        if server_env:
            raise AssertionError("server_env changes a server process: mark the module `process`")
        from django.test.utils import override_settings

        # The requests of this module run on this thread and commit, as a server's would.
        with (
            django_db_blocker.unblock(),
            override_settings(**server_settings),
            InProcessServer(process_env) as in_process,
        ):
            yield in_process
        return
    extra_env = {**settings_as_env(server_settings), **server_env}
    live = start_server(process_env, tmp_path_factory.mktemp("server"), extra_env)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def committed(
    django_db_setup: None, django_db_blocker: Any
) -> Callable[[], AbstractContextManager[None]]:
    """``with committed(): ...`` runs ORM code whose writes are committed and seen by servers."""
    return django_db_blocker.unblock  # type: ignore[no-any-return]


@dataclass
class Person:
    username: str
    token: str
    server: Server
    user_id: int
    _http: httpx.Client | None = field(default=None, repr=False)
    _client: Client | None = field(default=None, repr=False)

    @property
    def http(self) -> httpx.Client:
        """A raw HTTP client on ``/api/v1`` with this person's token."""
        if self._http is None:
            self._http = self.server.http(self.token)
        return self._http

    @property
    def client(self) -> Client:
        """The Python client (``visionhub.client.Client``) as this person."""
        if self._client is None:
            self._client = self.server.client(self.token)
        return self._client

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._client is not None:
            self._client.close()


PersonFactory = Callable[..., Person]


@pytest.fixture(scope="module")
def make_person(
    server: Server, committed: Callable[[], AbstractContextManager[None]]
) -> Iterator[PersonFactory]:
    """Create a user with a token through the accounts services (committed)."""
    made: list[Person] = []

    def make(
        name: str = "user",
        *,
        staff: bool = False,
        worker: bool = False,
        password: str | None = None,
    ) -> Person:
        from visionhub.accounts import services

        with committed():
            user = services.create_user(unique(name), staff=staff, worker=worker, password=password)
            issued = services.issue_token(user, name="test")
        person = Person(username=user.username, token=issued.secret, server=server, user_id=user.pk)
        made.append(person)
        return person

    yield make
    for person in made:
        person.close()


@pytest.fixture(scope="module")
def alice(make_person: PersonFactory) -> Person:
    return make_person("alice")


@pytest.fixture(scope="module")
def bob(make_person: PersonFactory) -> Person:
    return make_person("bob")


@pytest.fixture(scope="module")
def charlie(make_person: PersonFactory) -> Person:
    return make_person("charlie")


@pytest.fixture(scope="module")
def admin(make_person: PersonFactory) -> Person:
    return make_person("admin", staff=True)


@pytest.fixture(scope="module")
def worker(make_person: PersonFactory) -> Person:
    return make_person("worker", worker=True)


@pytest.fixture(scope="module")
def anonymous(server: Server) -> Iterator[httpx.Client]:
    with server.http(timeout=60) as client:
        yield client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the embedded default (its own home, its own SQLite file) run in one pass only.

    They never touch the pass's database, so the PostgreSQL pass would repeat them unchanged.
    """
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return
    skip = pytest.mark.skip(reason="runs on the embedded default whatever the pass: SQLite pass")
    for item in items:
        if item.get_closest_marker("embedded_default") is not None:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {connection.vendor}"

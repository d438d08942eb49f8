"""Shared fixtures: the database pass, a live server per module, and the people of every test.

People with known rights (STYLE.md rule 8): ``alice`` owns things, ``bob`` is made a member by
the tests that need one, ``charlie`` is a stranger who must get 404 everywhere, ``admin`` is
staff, ``worker`` may claim classification work.

Live-server tests never use the ``db`` fixture (its rollback would hide rows from the server);
they create what they need through the API, or through services inside ``committed()``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection
from tests.helpers import database_url, free_port, unique, wait_until

from visionhub.client import Client


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
    with django_db_blocker.unblock():
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


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

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
        result = subprocess.run(
            [sys.executable, "-m", "visionhub", *args],
            input=input,
            capture_output=True,
            text=True,
            env={**self.env, "VISIONHUB_SERVER": self.url, **(env or {})},
            timeout=600,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"visionhub {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

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
    """Extra environment for this module's server; override in a module to change settings."""
    return {}


@pytest.fixture(scope="module")
def server(
    process_env: dict[str, str],
    server_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """A real ``visionhub serve`` on a free port, one per test module."""
    live = start_server(process_env, tmp_path_factory.mktemp("server"), server_env)
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
    server: LiveServer
    user_id: int
    _http: httpx.Client | None = field(default=None, repr=False)
    _client: Client | None = field(default=None, repr=False)

    @property
    def http(self) -> httpx.Client:
        """A raw HTTP client on ``/api/v1`` with this person's token."""
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.server.api,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=120,
            )
        return self._http

    @property
    def client(self) -> Client:
        """The Python client (``visionhub.client.Client``) as this person."""
        if self._client is None:
            self._client = Client(self.server.url, self.token)
        return self._client

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._client is not None:
            self._client.close()


PersonFactory = Callable[..., Person]


@pytest.fixture(scope="module")
def make_person(
    server: LiveServer, committed: Callable[[], AbstractContextManager[None]]
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
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=60) as client:
        yield client


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {connection.vendor}"

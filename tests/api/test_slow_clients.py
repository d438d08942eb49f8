"""Slow or stalled clients hold no database connection: with ten times the pool size of uploads
and model pushes stalled in the middle of their bodies, health, a login and a dataset list still
answer at once (the pool's own wait is 30 s; the calls here give up well before)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.conftest import LiveServer, Person, PersonFactory
from tests.helpers import unique, wait_until
from tests.registry.support import create_model, push

pytestmark = pytest.mark.process

POOL_SIZE = 4
STALLED_EACH = 5 * POOL_SIZE  # uploads, and as many pushes: ten times the pool in all
BOUNDARY = "stalled-boundary"


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def server_env(server_home: Path) -> dict[str, str]:
    # Its own home, so that its upload temp files (in home/tmp) can be counted.
    return {"VISIONHUB_DB_POOL_SIZE": str(POOL_SIZE), "VISIONHUB_HOME": str(server_home)}


def stalled_multipart(
    server: LiveServer, token: str, path: str, field: str, name: str
) -> socket.socket:
    """A multipart POST that sends its headers and the first 200 kB of a 50 MB body, then
    nothing more: the server is left reading the body of an authenticated request."""
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    part = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    head = (
        f"POST /api/v1{path} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    ).encode()
    sock.sendall(head + part + b"\0" * 200_000)
    return sock


@pytest.fixture
def stalled(server: LiveServer, alice: Person) -> Iterator[None]:
    dataset = alice.http.post("/datasets", json={"name": unique("stalled")}).json()
    model = create_model(alice)
    sockets = [
        stalled_multipart(server, alice.token, f"/datasets/{dataset['id']}/images", "file", "a.png")
        for _ in range(STALLED_EACH)
    ] + [
        stalled_multipart(server, alice.token, f"/models/{model}/versions", "files", "model.onnx")
        for _ in range(STALLED_EACH)
    ]
    try:
        yield
    finally:
        for sock in sockets:
            sock.close()


def test_health_login_and_lists_answer_while_ten_times_the_pool_of_uploads_stall(
    server: LiveServer,
    alice: Person,
    make_person: PersonFactory,
    server_home: Path,
    stalled: None,
) -> None:
    # Every stalled request has authenticated (a query) and is inside its body: its part is
    # being written to a temporary file (Django's ``*.upload.*``, the registry's ``model-*.part``).
    tmp = server_home / "tmp"
    wait_until(lambda: len(list(tmp.iterdir())) >= 2 * STALLED_EACH, timeout=20)
    dana = make_person("dana", password="a long enough password")
    calls = {
        "health": lambda http: http.get(f"{server.api}/health"),
        "login": lambda http: http.post(
            f"{server.api}/auth/login",
            json={"username": dana.username, "password": "a long enough password"},
        ),
        "datasets": lambda http: http.get(
            f"{server.api}/datasets", headers={"Authorization": f"Bearer {alice.token}"}
        ),
    }

    def call(name: str) -> tuple[str, int]:
        with httpx.Client(timeout=15) as http:
            return name, calls[name](http).status_code

    with ThreadPoolExecutor(len(calls) * 3) as pool:
        answers = list(pool.map(call, list(calls) * 3))
    assert all(status == 200 for _, status in answers), answers


def stalled_download(server: LiveServer, token: str, path: str) -> socket.socket:
    """A GET of a large file by a client that reads nothing of the answer: the server is left
    writing into full socket buffers."""
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /api/v1{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def test_health_answers_while_ten_times_the_pool_of_downloads_are_not_read(
    server: LiveServer, alice: Person
) -> None:
    model = create_model(alice, files=[{"name": "weights.bin", "required": True, "max_mb": 64}])
    pushed = push(alice, model, {"weights.bin": os.urandom(16 * 1024 * 1024)})
    assert pushed.status_code == 201, pushed.text
    path = f"/models/{model}/versions/1/files/weights.bin"
    sockets = [stalled_download(server, alice.token, path) for _ in range(10 * POOL_SIZE)]
    try:
        # Each download has started: its status line has arrived.
        for sock in sockets:
            assert sock.recv(12) == b"HTTP/1.1 200"
        with httpx.Client(timeout=15) as http:
            for _ in range(3):
                assert http.get(f"{server.api}/health").status_code == 200
                listed = http.get(
                    f"{server.api}/datasets", headers={"Authorization": f"Bearer {alice.token}"}
                )
                assert listed.status_code == 200
    finally:
        for sock in sockets:
            sock.close()

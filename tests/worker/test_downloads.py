"""Downloads of signed links, by the client (httpx) and by the worker's ``Fetcher``
(libcurl): the token goes to the API server and nowhere else, limits hold, errors are typed.

A small HTTP/1.1 server in a thread stands for "another host" (an S3 endpoint, a CDN): it
records the headers it receives, and can drop its kept-alive connections.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from visionhub.client import Client, ClientError
from visionhub.worker.fetch import Fetcher, TransportError

pytestmark = pytest.mark.process

BODY = b"blob bytes " * 1000

Fetch = Callable[..., bytes]


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        Recorder.seen.append(dict(self.headers))
        if self.path == "/chunked":  # no Content-Length: the limit must hold while reading
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(BODY), 1000):
                chunk = BODY[start : start + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/missing":
            body = b'{"error": {"code": "blob_not_found", "message": "no", "details": {}}}'
            self.send_response(404)
        else:
            body = BODY
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        # As a server whose keep-alive timeout ran out: close without saying so.
        self.close_connection = self.path == "/then-close"

    def log_message(self, *args: object) -> None:
        pass


class Host:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def host() -> Iterator[Host]:
    Recorder.seen.clear()
    running = Host()
    yield running
    running.stop()


def client_for(server: str) -> Client:
    return Client(server, "vh_secret")


@pytest.fixture(params=["client", "fetcher"])
def fetch_from(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Fetch]]:
    """``fetch_from(api_server)`` → a fetch function of the client or of the worker."""
    clients: list[Client] = []

    def make(server: str) -> Fetch:
        client = client_for(server)
        clients.append(client)
        return client.fetch if request.param == "client" else Fetcher(client).fetch

    yield make
    for client in clients:
        client.close()


def test_the_token_is_not_sent_to_another_host(
    host: Host, fetch_from: Callable[[str], Fetch]
) -> None:
    fetch = fetch_from("http://127.0.0.1:9")
    assert fetch(f"{host.url}/blob") == BODY
    assert fetch(f"{host.url}/blob?signature=abc") == BODY
    assert len(Recorder.seen) == 2
    assert all("Authorization" not in headers for headers in Recorder.seen)


def test_the_token_is_sent_to_the_server_itself(
    host: Host, fetch_from: Callable[[str], Fetch]
) -> None:
    fetch_from(host.url)(f"{host.url}/blob")
    assert Recorder.seen[0]["Authorization"] == "Bearer vh_secret"


def test_a_download_over_its_limit_stops(host: Host, fetch_from: Callable[[str], Fetch]) -> None:
    fetch = fetch_from("http://127.0.0.1:9")
    with pytest.raises(ClientError) as raised:
        fetch(f"{host.url}/blob", max_bytes=100)
    assert raised.value.status == 413
    assert fetch(f"{host.url}/blob", max_bytes=len(BODY)) == BODY


def test_the_limit_holds_without_a_content_length(
    host: Host, fetch_from: Callable[[str], Fetch]
) -> None:
    fetch = fetch_from("http://127.0.0.1:9")
    with pytest.raises(ClientError) as raised:
        fetch(f"{host.url}/chunked", max_bytes=2500)
    assert raised.value.status == 413
    assert fetch(f"{host.url}/chunked", max_bytes=len(BODY)) == BODY


def test_the_fetcher_goes_through_the_configured_proxy(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", host.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    client = client_for("http://127.0.0.1:9")
    fetcher = Fetcher(client)
    # The host is unreachable directly; the proxy (our recorder) answers for it.
    assert fetcher.fetch("http://blobs.invalid/blob") == BODY
    fetcher.close()
    client.close()
    assert Recorder.seen[0]["Host"] == "blobs.invalid"
    assert "Authorization" not in Recorder.seen[0]


def test_an_http_error_is_a_client_error_with_the_servers_code(
    host: Host, fetch_from: Callable[[str], Fetch]
) -> None:
    with pytest.raises(ClientError) as raised:
        fetch_from("http://127.0.0.1:9")(f"{host.url}/missing")
    assert (raised.value.status, raised.value.code) == (404, "blob_not_found")


def test_the_fetcher_reconnects_when_the_server_closed_an_idle_connection(host: Host) -> None:
    client = client_for("http://127.0.0.1:9")
    fetcher = Fetcher(client)
    assert fetcher.fetch(f"{host.url}/then-close") == BODY  # the server closes after answering
    assert fetcher.fetch(f"{host.url}/blob") == BODY  # the stale connection is replaced
    client.close()
    assert len(Recorder.seen) == 2


def test_a_refused_connection_is_a_transport_error_to_retry() -> None:
    client = client_for("http://127.0.0.1:9")
    with pytest.raises(TransportError):
        Fetcher(client).fetch("http://127.0.0.1:9/blob")
    client.close()


def test_the_client_downloads_to_a_file_with_its_sha256(host: Host, tmp_path: Path) -> None:
    client = client_for("http://127.0.0.1:9")
    got = client.download(f"{host.url}/blob", tmp_path / "blob")
    client.close()
    assert (got.sha256, got.size) == (hashlib.sha256(BODY).hexdigest(), len(BODY))
    assert (tmp_path / "blob").read_bytes() == BODY

"""No database connection waits on a slow client.

A server process has a small pool of database connections (``VISIONHUB_DB_POOL_SIZE``) and many
threads. Django keeps a request's connection from its first query to the end of the request, so
a request that authenticated (one query) and then reads a slowly arriving upload, or answers a
slowly reading download, would hold a pooled connection for as long as its client dawdles: a few
dozen such clients took every connection, and every other request (``/health`` included)
waited for the pool and failed.

``release_connections_while_waiting`` wraps the WSGI application so that a connection is handed
back before the server waits on the network: before each read of the request body, and when the
application returns a response, before the server starts sending it. It also drops the body of
an answer to HEAD. A connection inside a
transaction is kept (its work is not finished); the next query takes a connection again, so the
code of the handlers needs no change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import connections

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def release_idle_connections() -> None:
    """Give back (to the pool, or close) every database connection of this thread that is
    open and not inside a transaction."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block:
            conn.close()


class _ReleasingInput:
    """``wsgi.input`` that releases idle connections before every read from the client."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, *args: Any) -> bytes:
        release_idle_connections()
        data: bytes = self._stream.read(*args)
        return data

    def readline(self, *args: Any) -> bytes:
        release_idle_connections()
        line: bytes = self._stream.readline(*args)
        return line

    def readlines(self, *args: Any) -> list[bytes]:
        release_idle_connections()
        lines: list[bytes] = self._stream.readlines(*args)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


def release_connections_while_waiting(app: WSGIApp) -> WSGIApp:
    """``app`` whose requests hold no idle database connection while the server reads their
    body from the client or writes their response to it (see the module's docstring)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.input"] = _ReleasingInput(environ["wsgi.input"])
        response = app(environ, start_response)
        # The view has run: a streamed body (a blob, a model archive) is read from the store
        # while the client takes it, with no connection held.
        release_idle_connections()
        if environ.get("REQUEST_METHOD") == "HEAD":
            # Django answers HEAD as GET; the headers (Content-Length included) stay, the body
            # must not be sent (RFC 9110), and gunicorn warned on every one it had to drop.
            close = getattr(response, "close", None)
            if close is not None:
                close()
            return []
        return response

    return wrapped

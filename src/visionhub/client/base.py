"""The HTTP core of the Python client: auth, errors, pagination, retries. No Django here."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from visionhub import __version__
from visionhub.client.errors import ClientError, DownloadTooLarge
from visionhub.client.retry import DEFAULT_POLICY, IDEMPOTENT_METHODS, NO_RETRY, RetryPolicy

__all__ = ["BaseClient", "ClientError", "DownloadTooLarge", "Downloaded"]

DOWNLOAD_CHUNK = 1024 * 1024

# Where a download goes: a file path (written atomically), an open binary file, or a function.
Sink = str | os.PathLike[str] | BinaryIO | Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class Downloaded:
    sha256: str
    size: int


class BaseClient:
    """Talks to one VisionHub server with one token, over one keep-alive connection pool.

    Calls are retried by ``retry`` (``visionhub.client.retry``): any call whose connection
    could not be made or that was answered 503 or 429, and idempotent calls (GET, PUT,
    DELETE…, or ``idempotent=True``) that lost their connection or a proxy's answer too.
    """

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.server = server.rstrip("/")
        self.retry = retry
        self.token = token
        headers = {"User-Agent": f"visionhub-client/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=f"{self.server}/api/v1",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> BaseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def raise_for_error(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            error = response.json()["error"]
            raise ClientError(
                response.status_code,
                str(error.get("code", "error")),
                str(error.get("message", "")),
                dict(error.get("details") or {}),
            )
        except (ValueError, KeyError, TypeError):
            raise ClientError(response.status_code, "http_error", response.text[:500], {}) from None

    def request(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> Any:
        """Send a request and return the decoded JSON (None for 204); raise ClientError.

        ``idempotent`` (default: by the method) says whether the call may be sent again after
        the server may have seen it; a body that cannot be sent twice (an open file, a
        generator) is never retried.
        """

        def send() -> Any:
            response = self.http.request(method, path, **kwargs)
            self.raise_for_error(response)
            if response.status_code == 204 or not response.content:
                return None
            return response.json()

        safe = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
        policy = self.retry if _replayable(kwargs) else NO_RETRY
        return policy.call(f"{method} {path}", send, idempotent=safe)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def iterate(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following ``next_cursor``."""
        query: dict[str, Any] = dict(params or {})
        query["limit"] = page_size
        while True:
            page = self.get(path, params=query)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    def stream_to(
        self,
        path: str,
        sink: Sink,
        *,
        http: httpx.Client | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
        max_bytes: int | None = None,
        sha256: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> Downloaded:
        """Stream ``GET path`` (an API path, or a URL with ``http``) into ``sink``, chunk by
        chunk, never the whole body in memory; its sha256 and size.

        A path ``sink`` is written to a temporary file beside it and renamed into place only
        when complete (nothing is left behind on error), and the download is retried like any
        GET; into an open file or a function it is not (what was written cannot be taken back).
        ``max_bytes`` stops a longer body with ``DownloadTooLarge``; ``sha256`` checks the
        content (``hash_mismatch``); ``progress`` is called with each chunk's size. ``timeout``
        is per read (default the client's; None: a large file takes as long as it takes).
        """
        if not isinstance(sink, str | os.PathLike):
            write = sink.write if hasattr(sink, "write") else sink
            return self._stream(path, write, http, params, timeout, max_bytes, sha256, progress)
        dest = Path(sink)

        def attempt() -> Downloaded:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".download-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    done = self._stream(
                        path, fh.write, http, params, timeout, max_bytes, sha256, progress
                    )
                Path(tmp).replace(dest)
                return done
            finally:
                Path(tmp).unlink(missing_ok=True)

        return self.retry.call(f"GET {path}", attempt, idempotent=True)

    def _stream(
        self,
        path: str,
        write: Callable[[bytes], object],
        http: httpx.Client | None,
        params: Mapping[str, Any] | None,
        timeout: Any,
        max_bytes: int | None,
        sha256: str | None,
        progress: Callable[[int], object] | None,
    ) -> Downloaded:
        digest = hashlib.sha256()
        size = 0
        client = http or self.http
        with client.stream("GET", path, params=params, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                self.raise_for_error(response)
            for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise DownloadTooLarge(max_bytes)
                digest.update(chunk)
                write(chunk)
                if progress is not None:
                    progress(len(chunk))
        if sha256 is not None and digest.hexdigest() != sha256:
            raise ClientError(0, "hash_mismatch", f"{path}: content does not match its sha256", {})
        return Downloaded(digest.hexdigest(), size)

    # --- accounts -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/health")
        return result

    def me(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/users/me")
        return result

    def login(self, username: str, password: str) -> str:
        """Sign in with a password; the client then uses the new session token."""
        data = self.post("/auth/login", json={"username": username, "password": password})
        self.token = str(data["token"])
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        return self.token


def _replayable(kwargs: Mapping[str, Any]) -> bool:
    """Whether the body of a request can be sent a second time as it was the first."""
    content = kwargs.get("content")
    if content is not None and not isinstance(content, bytes | str):
        return False
    files = kwargs.get("files") or ()
    parts = files.values() if isinstance(files, Mapping) else (part for _, part in files)
    for part in parts:
        body = part[1] if isinstance(part, tuple) else part
        if not isinstance(body, bytes | str):
            return False
    return True

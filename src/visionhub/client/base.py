"""The HTTP core of the Python client: auth, errors, pagination, retries. No Django here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from visionhub import __version__
from visionhub.client.errors import ClientError
from visionhub.client.retry import DEFAULT_POLICY, IDEMPOTENT_METHODS, NO_RETRY, RetryPolicy

__all__ = ["BaseClient", "ClientError"]


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

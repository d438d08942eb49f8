"""The client's error: what the server answered, in the envelope of PRODUCT.md."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """An error answered by the server, in the envelope of PRODUCT.md."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class DownloadTooLarge(ClientError):
    """A download went past the size its caller allowed (it was stopped there)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "download_too_large", f"more than {limit} bytes", {"limit": limit})

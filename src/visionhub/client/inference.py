"""Client methods for inference: submitting classifications, and the worker protocol."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from visionhub.client.base import BaseClient, Downloaded, DownloadTooLarge

# A file (its path), its bytes, or the id of an image already in a dataset.
ImageInput = str | os.PathLike[str] | bytes | int

_BATCH_CHUNK = 5000
_BLOB_HTTP_LOCK = threading.Lock()

__all__ = ["DownloadTooLarge", "Downloaded", "InferenceClient"]


class InferenceClient(BaseClient):
    _blob_http: httpx.Client | None = None

    # --- submitting and reading ------------------------------------------------------------

    def classify(self, deployment: str, image: ImageInput) -> dict[str, Any]:
        """Queue one image (a path, its bytes or a dataset image id) for ``deployment``:
        ``{id, status}``."""
        if isinstance(image, int):
            body = {"deployment": deployment, "image_id": image}
            result: dict[str, Any] = self.post("/classifications", json=body)
            return result
        name, content = _image_part(image)
        result = self.post(
            "/classifications",
            data={"deployment": deployment},
            files={"file": (name, content, "application/octet-stream")},
        )
        return result

    def classify_dataset_images(self, deployment: str, image_ids: Sequence[int]) -> list[int]:
        """Queue dataset images by id (any number, sent in chunks); the new request ids."""
        ids: list[int] = []
        for start in range(0, len(image_ids), _BATCH_CHUNK):
            chunk = list(image_ids[start : start + _BATCH_CHUNK])
            data = self.post(
                "/classifications/batch", json={"deployment": deployment, "image_ids": chunk}
            )
            ids.extend(data["ids"])
        return ids

    def get_classification(self, request_id: int, wait: float | None = None) -> dict[str, Any]:
        """A request and its result; with ``wait`` the server holds the answer until it is done
        (or ``wait`` seconds pass)."""
        params = {} if wait is None else {"wait": wait}
        timeout = httpx.Timeout(60.0 + (wait or 0), connect=10.0)
        result: dict[str, Any] = self.get(
            f"/classifications/{request_id}", params=params, timeout=timeout
        )
        return result

    def cancel_classification(self, request_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.post(f"/classifications/{request_id}/cancel")
        return result

    def predict(self, deployment: str, image: ImageInput, timeout: float = 30.0) -> dict[str, Any]:
        """Classify synchronously: the finished request (``status`` ``completed``, ``failed``…)
        if it ends within ``timeout`` seconds, else (the server answered 202) ``{id, status}``
        to poll with ``get_classification``."""
        options: dict[str, Any] = {
            "params": {"timeout": timeout},
            "timeout": httpx.Timeout(60.0 + timeout, connect=10.0),
        }
        if isinstance(image, int):
            options["json"] = {"image_id": image}
        else:
            name, content = _image_part(image)
            options["files"] = {"file": (name, content, "application/octet-stream")}
        result: dict[str, Any] = self.post(f"/deployments/{deployment}/predict", **options)
        return result

    # --- runs over a dataset -----------------------------------------------------------------

    def create_run(
        self,
        deployment: str,
        dataset: int | str,
        label_set: str,
        *,
        filters: dict[str, Any] | None = None,
        priority: int = 0,
    ) -> dict[str, Any]:
        """Run ``deployment`` over the images of ``dataset`` (id or name) matching ``filters``,
        into the Pred label set ``label_set``; images already predicted into it are skipped.
        The run with its progress (``queued``, ``done``, ``failed``, ``pending``…)."""
        body: dict[str, Any] = {"dataset": dataset, "label_set": label_set, "priority": priority}
        if filters:
            body["filters"] = filters
        result: dict[str, Any] = self.post(f"/deployments/{deployment}/runs", json=body)
        return result

    def get_run(self, deployment: str, run_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/deployments/{deployment}/runs/{run_id}")
        return result

    def cancel_run(self, deployment: str, run_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.post(f"/deployments/{deployment}/runs/{run_id}/cancel")
        return result

    # --- the worker protocol (PRODUCT.md section 5) -----------------------------------------

    def claim(
        self,
        max: int = 16,  # the protocol's field name
        wait: float = 0,
        deployments: Sequence[str] | None = None,
        worker: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Lease up to ``max`` requests, long-polling up to ``wait`` seconds: ``{jobs: [...]}``."""
        body: dict[str, Any] = {"max": max, "wait": wait}
        if deployments:
            body["deployments"] = list(deployments)
        if worker:
            body["worker"] = worker
        result: dict[str, Any] = self.post(
            "/worker/claim", json=body, timeout=httpx.Timeout(30.0 + wait, connect=10.0)
        )
        return result

    def heartbeat(self, leases: Sequence[dict[str, Any]]) -> Any:
        """Extend ``leases`` (``[{request_id, dispatch_token}]``); the server says which it kept."""
        return self.post("/worker/heartbeat", json={"leases": list(leases)})

    def submit_results(self, results: Sequence[dict[str, Any]]) -> Any:
        """Send results (``{request_id, dispatch_token, label, scores}`` or ``{…, error}``);
        each is answered ``accepted`` or ``rejected`` with a reason."""
        return self.post("/worker/results", json={"results": list(results)})

    def release(self, leases: Sequence[dict[str, Any]]) -> Any:
        """Give leases back unfinished, so their requests go to another worker at once without
        counting as a failed attempt. Servers without ``/worker/release`` answer 404; the
        leases then simply expire."""
        return self.post("/worker/release", json={"leases": list(leases)})

    def download(
        self, url: str, dest: str | os.PathLike[str], *, max_bytes: int | None = None
    ) -> Downloaded:
        """Stream ``url`` (a signed or presigned link) to the file ``dest``; its sha256 and size.

        The token is sent only to this client's own server, never to another host (an S3
        presigned URL would reject it, and the token is not theirs to see).
        """
        with Path(dest).open("wb") as fh:
            return self.stream_to(url, fh, http=self._http_for(url), max_bytes=max_bytes)

    def fetch(self, url: str, *, max_bytes: int | None = None) -> bytes:
        """The body at ``url`` in memory (for images, which are bounded), same rules as
        ``download``."""
        chunks: list[bytes] = []
        self.stream_to(url, chunks.append, http=self._http_for(url), max_bytes=max_bytes)
        return b"".join(chunks)

    def _http_for(self, url: str) -> httpx.Client:
        if _origin(url) == _origin(self.server):
            return self.http
        with _BLOB_HTTP_LOCK:
            if self._blob_http is None:
                self._blob_http = httpx.Client(
                    headers={"User-Agent": self.http.headers["User-Agent"]},
                    timeout=self.http.timeout,
                    follow_redirects=True,
                )
        return self._blob_http

    def close(self) -> None:
        if self._blob_http is not None:
            self._blob_http.close()
        super().close()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").lower(), port)


def _image_part(image: str | os.PathLike[str] | bytes) -> tuple[str, bytes]:
    if isinstance(image, bytes):
        return ("image", image)
    path = Path(image)
    return (path.name, path.read_bytes())

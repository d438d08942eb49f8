"""Signed blob URLs through the real server: streamed, ranged, refused when tampered."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from tests.conftest import LiveServer
from tests.factories import make_noise_image
from tests.helpers import assert_error


@pytest.fixture(scope="module")
def blob(committed: Callable[[], AbstractContextManager[None]]) -> tuple[str, bytes]:
    from visionhub.storage.factory import get_store

    content = make_noise_image(300, 200, seed=42)
    with committed():
        info = get_store().put([content])
    return info.sha256, content


@pytest.fixture(scope="module")
def signed_url(server: LiveServer, blob: tuple[str, bytes]) -> str:
    from visionhub.storage.signing import signed_path

    return server.url + signed_path(blob[0], ttl=600, filename="noise.png")


def test_a_signed_url_streams_the_blob(
    server: LiveServer, signed_url: str, blob: tuple[str, bytes]
) -> None:
    response = server.get(signed_url)
    assert response.status_code == 200
    assert response.content == blob[1]
    assert hashlib.sha256(response.content).hexdigest() == blob[0]
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "noise.png" in response.headers["Content-Disposition"]


def test_a_range_request_gets_206(
    server: LiveServer, signed_url: str, blob: tuple[str, bytes]
) -> None:
    response = server.get(signed_url, headers={"Range": "bytes=10-109"})
    assert response.status_code == 206
    assert response.content == blob[1][10:110]
    assert response.headers["Content-Range"] == f"bytes 10-109/{len(blob[1])}"
    tail = server.get(signed_url, headers={"Range": "bytes=-7"})
    assert tail.content == blob[1][-7:]
    assert_error(server.get(signed_url, headers={"Range": f"bytes={len(blob[1]) + 5}-"}), 416)


def test_a_tampered_or_unsigned_url_gets_404(
    server: LiveServer, signed_url: str, blob: tuple[str, bytes]
) -> None:
    assert_error(server.get(signed_url.replace("signature=", "signature=0")), 404)
    assert_error(server.get(f"{server.api}/blobs/{blob[0]}"), 404)
    other = "0" * 64
    assert_error(server.get(signed_url.replace(blob[0], other)), 404)

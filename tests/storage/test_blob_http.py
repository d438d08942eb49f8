"""Serving blobs over HTTP: ranges, ETags and the signed-link route, without a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.http.response import HttpResponseBase
from django.test import RequestFactory
from ninja.testing import TestClient
from pytest_django.fixtures import Settings

from visionhub.storage import signing
from visionhub.storage.api import router
from visionhub.storage.base import BlobNotFound, BlobStore, InvalidRange
from visionhub.storage.factory import get_store
from visionhub.storage.http import blob_response, parse_range

DATA = bytes(range(256)) * 40  # 10,240 bytes
SIZE = len(DATA)


@pytest.fixture
def store(tmp_path: Path, settings: Settings) -> Iterator[BlobStore]:
    """The configured store, pointed at an empty folder for this test."""
    settings.STORAGE_URL = (tmp_path / "blobs").as_uri()
    yield get_store()


@pytest.fixture
def key(store: BlobStore) -> str:
    return store.put([DATA]).sha256


def get(key: str, **headers: str) -> HttpResponseBase:
    request = RequestFactory().get(f"/blobs/{key}", headers=headers)
    return blob_response(request, key)


def body(response: HttpResponseBase) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined, no-any-return]


def test_the_whole_blob_is_streamed_with_its_length_and_etag(key: str) -> None:
    response = get(key)

    assert response.status_code == 200
    assert response.streaming
    assert body(response) == DATA
    assert response["Content-Length"] == str(SIZE)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{key}"'
    assert "Content-Range" not in response
    assert "Content-Disposition" not in response


def test_a_filename_and_content_type_are_sent_when_given(key: str) -> None:
    request = RequestFactory().get("/")

    response = blob_response(request, key, content_type="image/png", filename="chat noir é.png")

    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''chat%20noir%20%C3%A9.png"
    )


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=-5", SIZE - 5, SIZE - 1),
        ("bytes=10-", 10, SIZE - 1),
        ("bytes=100-100", 100, 100),
        ("bytes=5000-999999", 5000, SIZE - 1),
        ("bytes=-999999", 0, SIZE - 1),
        ("BYTES = 1-2", 1, 2),
    ],
)
def test_a_single_range_gets_206_with_that_slice(
    key: str, header: str, start: int, end: int
) -> None:
    response = get(key, Range=header)

    assert response.status_code == 206
    assert body(response) == DATA[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["ETag"] == f'"{key}"'


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_a_range_past_the_end_is_unsatisfiable(key: str, header: str) -> None:
    with pytest.raises(InvalidRange) as caught:
        get(key, Range=header)

    assert caught.value.status == 416
    assert caught.value.details["size"] == SIZE


@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-6", "bytes=9-3", "bytes=abc", "items=0-1", "bytes=-", "bytes=1-2-3"]
)
def test_multi_range_and_malformed_headers_get_the_whole_body(key: str, header: str) -> None:
    response = get(key, Range=header)

    assert response.status_code == 200
    assert body(response) == DATA


@pytest.mark.parametrize("header", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_with_the_etag_gets_304(key: str, header: str) -> None:
    response = get(key, If_None_Match=header.format(etag=f'"{key}"'))

    assert response.status_code == 304
    assert response["ETag"] == f'"{key}"'
    assert body(response) == b""


def test_if_none_match_with_another_etag_gets_the_blob(key: str) -> None:
    response = get(key, If_None_Match='"something-else"')

    assert response.status_code == 200
    assert body(response) == DATA


def test_if_range_with_a_stale_validator_gets_the_whole_body(key: str) -> None:
    stale = get(key, Range="bytes=0-9", If_Range='"something-else"')
    current = get(key, Range="bytes=0-9", If_Range=f'"{key}"')

    assert (stale.status_code, body(stale)) == (200, DATA)
    assert (current.status_code, body(current)) == (206, DATA[:10])


def test_an_empty_blob_is_served_and_any_range_of_it_is_unsatisfiable(store: BlobStore) -> None:
    empty = store.put([]).sha256

    response = get(empty)

    assert (response.status_code, response["Content-Length"], body(response)) == (200, "0", b"")
    with pytest.raises(InvalidRange):
        get(empty, Range="bytes=0-")
    with pytest.raises(InvalidRange):
        get(empty, Range="bytes=-1")


def test_head_gets_the_headers_without_a_body(key: str) -> None:
    response = blob_response(RequestFactory().head("/"), key)

    assert (response.status_code, response["Content-Length"], body(response)) == (
        200,
        str(SIZE),
        b"",
    )


@pytest.mark.usefixtures("store")
def test_a_missing_blob_is_not_found() -> None:
    with pytest.raises(BlobNotFound):
        get("0" * 64)
    with pytest.raises(BlobNotFound):
        get("not-a-key")


def test_parse_range_ignores_a_missing_header() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("", 10) is None


# --- the signed-link route ------------------------------------------------------------------------


def download(path: str, **headers: str) -> Any:
    """GET ``path`` (as signed, under /api/v1) from the storage router alone."""
    client = TestClient(router)
    return client.get(path.removeprefix("/api/v1"), headers=headers)


def test_the_route_serves_a_signed_link_without_a_token(key: str) -> None:
    path = signing.signed_path(key, ttl=60, filename="data.bin")

    response = download(path, Range="bytes=0-3")

    assert response.status_code == 206
    assert response.content == DATA[:4]
    assert response["Content-Disposition"] == 'attachment; filename="data.bin"'


@pytest.mark.parametrize("mangle", ["signature=", "filename=", "expires=1"])
def test_the_route_answers_a_bad_link_as_a_missing_blob(key: str, mangle: str) -> None:
    path = signing.signed_path(key, ttl=60, filename="data.bin")
    parts = urlsplit(path)
    query = "&".join(
        mangle if pair.split("=")[0] == mangle.split("=")[0] else pair
        for pair in parts.query.split("&")
    )

    with pytest.raises(BlobNotFound):
        download(f"{parts.path}?{query}")

"""A multipart body Django cannot parse (no boundary, a part header past 1,024 bytes) is a 400
``invalid_multipart`` in the envelope on every endpoint that takes files."""

from __future__ import annotations

import pytest
from tests.conftest import Person
from tests.factories import make_png
from tests.helpers import assert_error, unique
from tests.inference.helpers import deploy
from tests.registry.support import create_model

BOUNDARY = "b0undary"


def long_header_body(field: str) -> bytes:
    """One file part whose Content-Disposition (a 5,000-character file name) is too long."""
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{"x" * 5000}.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + make_png()
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


@pytest.fixture(scope="module")
def paths(alice: Person) -> dict[str, tuple[str, str]]:
    dataset = alice.http.post("/datasets", json={"name": unique("multipart")}).json()["id"]
    deployment = deploy(alice)
    return {
        "image": (f"/datasets/{dataset}/images", "file"),
        "staged": (f"/datasets/{dataset}/uploads", "file"),
        "classification": ("/classifications", "file"),
        "predict": (f"/deployments/{deployment}/predict", "file"),
        "push": (f"/models/{create_model(alice)}/versions", "files"),
        "bundle": ("/models/import", "bundle"),
    }


@pytest.mark.parametrize(
    "endpoint", ["image", "staged", "classification", "predict", "push", "bundle"]
)
def test_a_multipart_body_without_a_boundary_is_400(
    alice: Person, paths: dict[str, tuple[str, str]], endpoint: str
) -> None:
    path, _ = paths[endpoint]
    response = alice.http.post(
        path, content=b"--x\r\n\r\n", headers={"Content-Type": "multipart/form-data"}
    )
    assert_error(response, 400, "invalid_multipart")


@pytest.mark.parametrize(
    "endpoint", ["image", "staged", "classification", "predict", "push", "bundle"]
)
def test_a_part_header_past_1024_bytes_is_400(
    alice: Person, paths: dict[str, tuple[str, str]], endpoint: str
) -> None:
    path, field = paths[endpoint]
    response = alice.http.post(
        path,
        content=long_header_body(field),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert_error(response, 400, "invalid_multipart")

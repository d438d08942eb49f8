"""The client's one streamed download (``BaseClient.stream_to``): a file appears whole or not
at all, and a body past its limit or with the wrong hash is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tests.conftest import Person
from tests.datasets.helpers import new_dataset, upload
from tests.factories import make_noise_image

from visionhub.client import ClientError
from visionhub.client.base import DownloadTooLarge


@pytest.fixture(scope="module")
def image(alice: Person) -> tuple[int, bytes]:
    content = make_noise_image(64, 48, seed=8123)
    made = upload(alice, new_dataset(alice)["id"], content)
    return made["id"], content


def test_a_download_to_a_path_is_written_whole_with_its_hash_and_size(
    alice: Person, image: tuple[int, bytes], tmp_path: Path
) -> None:
    image_id, content = image
    dest = tmp_path / "deep" / "image.png"
    done = alice.client.stream_to(f"/images/{image_id}/content", dest)
    assert dest.read_bytes() == content
    assert (done.sha256, done.size) == (hashlib.sha256(content).hexdigest(), len(content))
    chunks: list[bytes] = []
    alice.client.stream_to(f"/images/{image_id}/content", chunks.append)
    assert b"".join(chunks) == content


@pytest.mark.parametrize("problem", ["missing", "too_large", "wrong_hash"])
def test_a_failed_download_leaves_no_file_behind(
    alice: Person, image: tuple[int, bytes], tmp_path: Path, problem: str
) -> None:
    image_id, content = image
    dest = tmp_path / "image.png"
    with pytest.raises(ClientError) as caught:
        if problem == "missing":
            alice.client.stream_to("/images/999999999/content", dest)
        elif problem == "too_large":
            alice.client.stream_to(f"/images/{image_id}/content", dest, max_bytes=len(content) - 1)
        else:
            alice.client.stream_to(f"/images/{image_id}/content", dest, sha256="0" * 64)
    expected = {"missing": "image_not_found", "too_large": "download_too_large"}
    assert caught.value.code == expected.get(problem, "hash_mismatch")
    assert isinstance(caught.value, DownloadTooLarge) == (problem == "too_large")
    assert list(tmp_path.iterdir()) == []

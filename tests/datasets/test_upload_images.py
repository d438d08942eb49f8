"""Uploading images: decoded by Pillow, checked against the dataset's rules, stored once."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from django.conf import settings
from PIL import Image
from tests.conftest import Person
from tests.datasets.helpers import blob_count, new_dataset, upload
from tests.factories import make_image, make_noise_image, make_png
from tests.helpers import XRAYS_DIR, assert_error

XRAYS = XRAYS_DIR
MAX_PIXELS = 2_000_000


@pytest.fixture(scope="module")
def server_settings() -> dict[str, Any]:
    return {"MAX_IMAGE_BYTES": 1024 * 1024, "MAX_IMAGE_PIXELS": MAX_PIXELS}


def post_file(person: Person, dataset_id: int, data: bytes, name: str = "x.png") -> Any:
    return person.http.post(
        f"/datasets/{dataset_id}/images", files={"file": (name, data, "image/png")}
    )


def test_an_upload_answers_201_with_the_decoded_facts(alice: Person) -> None:
    dataset = new_dataset(alice)
    data = make_image(64, 48, format="JPEG")

    response = post_file(alice, dataset["id"], data, "photo.jpg")

    assert response.status_code == 201, response.text
    image = response.json()
    assert image["sha256"] == hashlib.sha256(data).hexdigest()
    assert (image["width"], image["height"], image["format"]) == (64, 48, "JPEG")
    assert image["size"] == len(data)
    assert image["filename"] == "photo.jpg"
    assert image["idx"] == 0
    assert image["dataset_id"] == dataset["id"]
    assert image["flag"] == 0
    assert alice.http.get(f"/datasets/{dataset['id']}").json()["num_images"] == 1


def test_the_format_comes_from_the_bytes_not_the_name(alice: Person) -> None:
    dataset = new_dataset(alice)

    image = upload(alice, dataset["id"], make_png(40, 30), "actually-a-png.jpg")

    assert image["format"] == "PNG"
    content = alice.http.get(f"/images/{image['id']}/content")
    assert content.headers["content-type"] == "image/png"


def test_the_same_content_twice_gives_back_the_first_image(alice: Person) -> None:
    dataset = new_dataset(alice)
    data = make_noise_image(20, 20, seed=7)
    first = post_file(alice, dataset["id"], data, "a.png")

    again = post_file(alice, dataset["id"], data, "b.png")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["filename"] == "a.png"
    assert alice.http.get(f"/datasets/{dataset['id']}").json()["num_images"] == 1


def test_a_file_name_already_taken_gets_the_content_hash(alice: Person) -> None:
    dataset = new_dataset(alice)
    upload(alice, dataset["id"], make_noise_image(20, 20, seed=1), filename="dir/same.png")

    second = upload(alice, dataset["id"], make_noise_image(20, 20, seed=2), filename="dir/same.png")

    assert second["filename"] == f"dir/same-{second['sha256'][:12]}.png"


def test_unsafe_file_names_are_made_relative(alice: Person) -> None:
    dataset = new_dataset(alice)

    image = upload(
        alice, dataset["id"], make_noise_image(20, 20, seed=3), filename="../../etc/./x.png"
    )

    assert image["filename"] == "etc/x.png"


def test_metadata_and_source_id_are_kept(alice: Person) -> None:
    dataset = new_dataset(alice)

    image = upload(
        alice,
        dataset["id"],
        make_noise_image(20, 20, seed=4),
        "m.png",
        metadata=json.dumps({"camera": "x"}),
        source_id=42,
    )

    assert image["metadata"] == {"camera": "x"}
    assert image["source_id"] == 42


def test_metadata_that_is_not_a_json_object_is_refused(alice: Person) -> None:
    dataset = new_dataset(alice)
    response = alice.http.post(
        f"/datasets/{dataset['id']}/images",
        files={"file": ("m.png", make_png(), "image/png")},
        data={"metadata": "[1, 2]"},
    )
    assert_error(response, 400, "invalid_json")


def test_every_real_xray_uploads_with_its_true_size(alice: Person) -> None:
    dataset = new_dataset(alice)
    for path in sorted(XRAYS.iterdir()):
        data = path.read_bytes()
        image = upload(alice, dataset["id"], data, path.name)
        with Image.open(io.BytesIO(data)) as decoded:
            assert (image["width"], image["height"]) == decoded.size
        assert image["format"] == "PNG"  # including the one named .jpg
        thumb = alice.http.get(f"/images/{image['id']}/thumbnail")
        assert thumb.status_code == 200
        with Image.open(io.BytesIO(thumb.content)) as small:
            assert max(small.size) == 256
            assert small.format == "JPEG"


def test_content_downloads_whole_or_by_range(alice: Person) -> None:
    dataset = new_dataset(alice)
    data = make_noise_image(30, 30, seed=5)
    image = upload(alice, dataset["id"], data)

    whole = alice.http.get(f"/images/{image['id']}/content")
    part = alice.http.get(f"/images/{image['id']}/content", headers={"Range": "bytes=10-19"})

    assert whole.content == data
    assert whole.headers["etag"] == f'"{image["sha256"]}"'
    assert part.status_code == 206
    assert part.content == data[10:20]


def test_a_small_image_keeps_its_size_as_thumbnail(alice: Person) -> None:
    dataset = new_dataset(alice)
    image = upload(alice, dataset["id"], make_image(40, 10, mode="RGBA", color=(0, 0, 0, 0)))

    thumb = alice.http.get(f"/images/{image['id']}/thumbnail")

    with Image.open(io.BytesIO(thumb.content)) as small:
        assert small.size == (40, 10)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,
        make_png(64, 48)[:-30],  # truncated
        make_image(64, 48, format="JPEG")[:300],  # truncated
    ],
    ids=["empty", "text", "png-header-only", "truncated-png", "truncated-jpeg"],
)
def test_undecodable_data_is_invalid_image_and_nothing_is_kept(alice: Person, data: bytes) -> None:
    dataset = new_dataset(alice)
    blobs = blob_count(settings.VISIONHUB_HOME)

    assert_error(post_file(alice, dataset["id"], data, "x.jpg"), 422, "invalid_image")

    assert blob_count(settings.VISIONHUB_HOME) == blobs
    assert alice.http.get(f"/datasets/{dataset['id']}").json()["num_images"] == 0
    assert alice.http.get(f"/datasets/{dataset['id']}/images").json()["items"] == []


def test_an_image_under_the_minimums_is_too_small(alice: Person) -> None:
    dataset = new_dataset(alice, img_width=100, img_height=50)
    blobs = blob_count(settings.VISIONHUB_HOME)

    error = assert_error(post_file(alice, dataset["id"], make_png(99, 60)), 422, "image_too_small")

    assert error["details"]["min_width"] == 100
    assert blob_count(settings.VISIONHUB_HOME) == blobs
    assert post_file(alice, dataset["id"], make_png(100, 50)).status_code == 201


def test_with_maintain_ratio_more_than_one_percent_off_is_refused(alice: Person) -> None:
    dataset = new_dataset(alice, img_width=200, img_height=100, maintain_ratio=True)

    refused = post_file(alice, dataset["id"], make_png(300, 146))  # ratio 2.055: 2.7% off
    accepted = post_file(alice, dataset["id"], make_png(400, 199))  # ratio 2.010: 0.5% off

    assert_error(refused, 422, "aspect_ratio_mismatch")
    assert accepted.status_code == 201


def test_more_pixels_than_allowed_is_too_large(alice: Person) -> None:
    dataset = new_dataset(alice)
    blobs = blob_count(settings.VISIONHUB_HOME)
    bomb = make_image(2000, 1001, mode="1", color=0)  # 2,002,000 pixels in a few kilobytes
    assert len(bomb) < 50_000

    error = assert_error(post_file(alice, dataset["id"], bomb), 413, "image_too_large")

    assert error["details"]["max_pixels"] == MAX_PIXELS
    assert blob_count(settings.VISIONHUB_HOME) == blobs


def test_a_decompression_bomb_beyond_pillows_own_limit_is_too_large(alice: Person) -> None:
    dataset = new_dataset(alice)
    # Over twice Pillow's default limit, Pillow itself raises DecompressionBombError.
    header = make_image(1, 1, mode="1", color=0)
    width = height = 20_000
    bomb = _png_with_size(header, width, height)

    assert_error(post_file(alice, dataset["id"], bomb), 413, "image_too_large")


def _png_with_size(png: bytes, width: int, height: int) -> bytes:
    """``png`` with its IHDR claiming ``width`` x ``height`` (CRC fixed)."""
    import struct
    import zlib

    ihdr_start = 8
    length = struct.unpack(">I", png[ihdr_start : ihdr_start + 4])[0]
    body = bytearray(png[ihdr_start + 4 : ihdr_start + 8 + length])
    body[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    end = ihdr_start + 8 + length + 4
    return png[: ihdr_start + 4] + bytes(body) + crc + png[end:]


def test_more_bytes_than_allowed_is_too_large(alice: Person) -> None:
    dataset = new_dataset(alice)
    big = make_noise_image(700, 600, seed=9)  # about 1.2 MB of incompressible pixels
    assert len(big) > 1024 * 1024
    blobs = blob_count(settings.VISIONHUB_HOME)

    assert_error(post_file(alice, dataset["id"], big), 413, "image_too_large")

    assert blob_count(settings.VISIONHUB_HOME) == blobs


def test_a_request_without_a_file_is_a_validation_error(alice: Person) -> None:
    dataset = new_dataset(alice)
    response = alice.http.post(f"/datasets/{dataset['id']}/images", data={"x": "1"})
    assert_error(response, 422, "validation_error")

"""The checks behind uploads and annotations, in process (no server, no database)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from tests.factories import make_image, make_png

from visionhub.datasets.services import geometry
from visionhub.datasets.services.decode import (
    AspectRatioMismatch,
    ImageTooLarge,
    ImageTooSmall,
    InvalidImage,
    Rules,
    decode,
)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    png = make_image(1, 1, mode="1", color=0)
    length = struct.unpack(">I", png[8:12])[0]
    body = bytearray(png[12 : 16 + length])
    body[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    return png[:12] + bytes(body) + crc + png[16 + length + 4 :]


@pytest.mark.parametrize("seed", range(5))
def test_the_rle_string_decoder_agrees_with_pycocotools(seed: int) -> None:
    rng = np.random.default_rng(seed)
    grid = np.asfortranarray((rng.random((37, 53)) > 0.7).astype(np.uint8))
    encoded = mask_utils.encode(grid)

    counts = geometry.decode_rle_string(encoded["counts"].decode())

    assert sum(counts) == 37 * 53
    assert sum(counts[1::2]) == int(mask_utils.area(encoded))
    rebuilt = mask_utils.frPyObjects({"size": [37, 53], "counts": counts}, 37, 53)
    assert rebuilt["counts"] == encoded["counts"]


def test_a_truncated_rle_string_is_refused() -> None:
    with pytest.raises(ValueError, match="middle"):
        geometry.decode_rle_string("0" + chr(48 + 0x20))


def test_polygon_area_is_the_shoelace_area() -> None:
    square: list[float] = [0, 0, 10, 0, 10, 10, 0, 10]
    assert geometry.polygon_area([square]) == 100
    assert geometry.polygon_area([square, [0.0, 0, 4, 0, 0, 3]]) == 106


def test_bbox_tolerance_allows_rounding_but_not_more() -> None:
    assert geometry.check_bbox([0, 0, 640.3, 480], 640, 480) is None
    assert geometry.check_bbox([0, 0, 641, 480], 640, 480) is not None
    assert geometry.check_bbox([0, 0, float("nan"), 1], 640, 480) is not None
    assert geometry.check_bbox([True, 0, 1, 1], 640, 480) is not None


def test_keypoints_need_one_triplet_per_name() -> None:
    assert geometry.check_keypoints([1, 2, 2, 0, 0, 0], ["a", "b"]) is None
    assert geometry.check_keypoints([1, 2, 2], ["a", "b"]) is not None
    assert geometry.check_keypoints([1, 2, 2], []) is not None


def test_decode_reports_size_and_format_and_makes_a_small_jpeg() -> None:
    decoded = decode(io.BytesIO(make_png(600, 300)), Rules())

    assert (decoded.width, decoded.height, decoded.format) == (600, 300, "PNG")
    assert decoded.thumbnail[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    ("mode", "color"),
    [("I;16", 40000), ("P", 3), ("LA", (10, 128)), ("CMYK", (1, 2, 3, 4)), ("1", 1)],
)
def test_thumbnails_are_made_for_unusual_modes_without_warnings(
    mode: str, color: int | tuple[int, ...]
) -> None:
    data = make_image(300, 20, mode=mode, color=color, format="TIFF" if mode == "CMYK" else "PNG")
    decoded = decode(io.BytesIO(data), Rules())
    assert decoded.width == 300


def test_a_transparent_palette_image_gets_a_thumbnail_without_warnings() -> None:
    from PIL import Image

    image = Image.new("P", (30, 30), 0)
    image.info["transparency"] = b"\x00" * 256
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=0)
    assert decode(io.BytesIO(buffer.getvalue()), Rules()).width == 30


def test_rules_are_checked_in_order() -> None:
    with pytest.raises(ImageTooSmall):
        decode(io.BytesIO(make_png(10, 10)), Rules(20, 5))
    with pytest.raises(AspectRatioMismatch):
        decode(io.BytesIO(make_png(40, 10)), Rules(20, 10, maintain_ratio=True))
    with pytest.raises(InvalidImage):
        decode(io.BytesIO(make_png(40, 10)[:-20]), Rules())


def test_pillows_bomb_warning_is_turned_into_image_too_large() -> None:
    # More pixels than Pillow's own limit (about 89 million) but less than twice it: Pillow
    # warns (an error under this suite's filterwarnings) rather than refusing.
    with pytest.raises(ImageTooLarge):
        decode(io.BytesIO(png_claiming(10_000, 9_500)), Rules())


def test_pillows_bomb_error_is_turned_into_image_too_large() -> None:
    with pytest.raises(ImageTooLarge):
        decode(io.BytesIO(png_claiming(20_000, 20_000)), Rules())

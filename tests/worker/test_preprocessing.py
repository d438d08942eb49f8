"""The worker's decode and preprocessing, checked against a float reference written in numpy.

The reference composites alpha onto black, converts to grey with the ITU-R 601 weights and
resizes each channel in float (Pillow mode F); the worker does the same in 8 bits, so the two
agree within a couple of grey levels. Plain pytest: no database, no server.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageOps
from tests.factories import make_image, make_noise_image
from tests.helpers import XRAYS_DIR

from visionhub.worker import decode as decode_module
from visionhub.worker.decode import DecodeError, decode_pixels, preprocess
from visionhub.worker.protocol import InputSpec

XRAYS = sorted(XRAYS_DIR.glob("*"))
LAYOUTS = ("NCHW", "NHWC", "flat")

# Two 8-bit roundings (conversion, resize) against the float reference.
LEVELS = 2.0


def spec_for(channels: int, layout: str, width: int = 40, height: int = 30) -> InputSpec:
    mean = [0.485, 0.456, 0.406][:channels] if channels == 3 else [0.5]
    std = [0.229, 0.224, 0.225][:channels] if channels == 3 else [0.25]
    return InputSpec.from_json(
        {
            "width": width,
            "height": height,
            "channels": channels,
            "layout": layout,
            "scale": 1 / 255,
            "mean": mean,
            "std": std,
        }
    )


def reference(data: bytes, spec: InputSpec) -> npt.NDArray[np.float64]:
    """The expected tensor, computed in float from Pillow's full-size RGBA pixels."""
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    rgba = np.asarray(im.convert("RGBA"), dtype=np.float64)
    rgb = rgba[:, :, :3] * (rgba[:, :, 3:] / 255.0)
    planes = (
        [rgb @ np.array([0.299, 0.587, 0.114])]
        if spec.channels == 1
        else [rgb[:, :, c] for c in range(3)]
    )
    size = (spec.width, spec.height)
    resized = [
        np.asarray(
            Image.fromarray(p.astype(np.float32), "F").resize(size, Image.Resampling.BILINEAR),
            dtype=np.float64,
        )
        for p in planes
    ]
    hwc: npt.NDArray[np.float64] = np.stack(resized, axis=-1)
    hwc = (hwc * spec.scale - np.array(spec.mean)) / np.array(spec.std)
    if spec.layout == "NCHW":
        return hwc.transpose(2, 0, 1)
    if spec.layout == "flat":
        return hwc.reshape(-1)
    return hwc


def assert_matches_reference(data: bytes, spec: InputSpec) -> None:
    got = preprocess(data, spec, reduce=False)
    want = reference(data, spec)
    assert got.dtype == np.float32
    assert got.shape == spec.tensor_shape == want.shape
    tolerance = LEVELS * spec.scale / min(spec.std)
    assert np.abs(got - want).max() <= tolerance


def encode(im: Image.Image, format: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=format, **params)
    return buffer.getvalue()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("xray", XRAYS, ids=[p.name for p in XRAYS])
def test_every_xray_preprocesses_to_every_layout_and_channel_count(
    xray: Path, channels: int, layout: str
) -> None:
    assert_matches_reference(xray.read_bytes(), spec_for(channels, layout, 64, 48))


def test_the_xrays_are_the_awkward_cases_they_are_said_to_be() -> None:
    modes = {p.name: (Image.open(p).format, Image.open(p).mode) for p in XRAYS}
    assert modes["000001-10.jpg"] == ("PNG", "RGBA")  # a PNG named .jpg, with alpha
    assert ("PNG", "L") in modes.values()
    assert ("PNG", "RGB") in modes.values()
    assert max(max(Image.open(p).size) for p in XRAYS) == 1024


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("channels", [1, 3])
def test_a_colour_photo_matches_the_reference(channels: int, layout: str) -> None:
    assert_matches_reference(make_noise_image(97, 61, seed=3), spec_for(channels, layout))


def test_layouts_hold_the_same_values_in_their_own_order() -> None:
    data = make_noise_image(50, 40, seed=1)
    nchw = preprocess(data, spec_for(3, "NCHW"))
    nhwc = preprocess(data, spec_for(3, "NHWC"))
    flat = preprocess(data, spec_for(3, "flat"))
    assert np.array_equal(nchw.transpose(1, 2, 0), nhwc)
    assert np.array_equal(nhwc.reshape(-1), flat)


def test_scale_mean_and_std_apply_per_channel() -> None:
    data = make_image(8, 8, color=(255, 0, 51))
    spec = InputSpec.from_json(
        {
            "width": 4,
            "height": 4,
            "channels": 3,
            "layout": "NHWC",
            "scale": 1 / 255,
            "mean": [0.5, 0.0, 0.1],
            "std": [0.5, 1.0, 0.1],
        }
    )
    pixel = preprocess(data, spec)[0, 0]
    assert pixel == pytest.approx([1.0, 0.0, 1.0], abs=1e-6)


def test_defaults_scale_to_zero_one() -> None:
    spec = InputSpec.from_json({"width": 4, "height": 4, "channels": 1})
    assert spec.scale == pytest.approx(1 / 255)
    x = preprocess(make_image(8, 8, color=255, mode="L"), spec)
    assert x.shape == (1, 4, 4)
    assert x == pytest.approx(np.ones((1, 4, 4)))


@pytest.mark.parametrize("channels", [1, 3])
def test_alpha_is_composited_onto_black(channels: int) -> None:
    pixels = np.zeros((10, 10, 4), dtype=np.uint8)
    pixels[..., :3] = 200
    pixels[..., 3] = np.linspace(0, 255, 10, dtype=np.uint8)[None, :]
    data = encode(Image.fromarray(pixels, "RGBA"))
    assert_matches_reference(data, spec_for(channels, "NHWC", 10, 10))
    raw = decode_pixels(data, channels, (10, 10))
    assert raw[0, 0].max() == 0  # fully transparent → black
    assert raw[0, -1].min() == 200  # opaque → unchanged


@pytest.mark.parametrize("mode", ["LA", "P", "P-transparent", "1", "CMYK", "I;16", "RGBA-opaque"])
@pytest.mark.parametrize("channels", [1, 3])
def test_any_mode_becomes_grey_or_rgb(mode: str, channels: int) -> None:
    base = Image.open(io.BytesIO(make_noise_image(33, 21, seed=5)))
    if mode == "LA":
        im = base.convert("LA")
        im.putalpha(Image.linear_gradient("L").resize(im.size))
    elif mode == "P":
        im = base.convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode == "P-transparent":
        im = base.convert("P", palette=Image.Palette.ADAPTIVE)
        im.info["transparency"] = 0
    elif mode == "1":
        im = base.convert("1")
    elif mode == "CMYK":
        im = base.convert("CMYK")
    elif mode == "RGBA-opaque":
        im = base.convert("RGBA")
    else:
        im = base
    data = encode(im, "JPEG" if mode == "CMYK" else "PNG")
    spec = spec_for(channels, "NCHW", 16, 12)
    if mode in ("I;16", "CMYK"):
        x = preprocess(data, spec)
        assert x.shape == spec.tensor_shape
        assert np.isfinite(x).all()
    else:
        assert_matches_reference(data, spec)


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    values = np.full((8, 8), 32896, dtype=np.uint16)  # 32896 / 257 = 128
    data = encode(Image.fromarray(values))
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    assert decode_pixels(data, 1, (4, 4))[..., 0] == pytest.approx(np.full((4, 4), 128))


def test_exif_orientation_is_applied() -> None:
    # Stored 40 wide and 20 tall, left half red and right half blue; orientation 6 means
    # "rotate 90 degrees clockwise to display", so the displayed image is red on top.
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = (255, 0, 0)
    pixels[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    for format in ("PNG", "JPEG"):
        data = encode(Image.fromarray(pixels), format, exif=exif.tobytes())
        shown = decode_pixels(data, 3, (20, 40)).astype(int)
        assert shown.shape == (40, 20, 3)
        assert shown[5, 10, 0] > 200 and shown[5, 10, 2] < 50, format
        assert shown[35, 10, 2] > 200 and shown[35, 10, 0] < 50, format


def test_large_jpegs_are_decoded_at_reduced_size_with_nearly_the_same_result() -> None:
    data = make_noise_image(16, 12, seed=2)
    big = Image.open(io.BytesIO(data)).resize((1024, 768), Image.Resampling.BICUBIC)
    jpeg = encode(big, "JPEG", quality=95)
    for channels in (1, 3):
        full = decode_pixels(jpeg, channels, (64, 48), reduce=False).astype(float)
        reduced = decode_pixels(jpeg, channels, (64, 48), reduce=True).astype(float)
        assert reduced.shape == full.shape == (48, 64, channels)
        assert not np.array_equal(full, reduced)  # a different (draft) decode did happen
        assert np.abs(full - reduced).mean() < 2.0


def test_the_bytes_decide_the_format_not_the_name() -> None:
    png_named_jpg = (XRAYS_DIR / "000001-10.jpg").read_bytes()
    assert png_named_jpg.startswith(b"\x89PNG")
    assert decode_pixels(png_named_jpg, 3, (32, 32)).shape == (32, 32, 3)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        XRAYS[0].read_bytes()[: len(XRAYS[0].read_bytes()) // 2],
        make_noise_image(300, 200, format="JPEG")[:3000],
    ],
    ids=["empty", "garbage", "truncated-png", "truncated-jpeg"],
)
def test_unreadable_bytes_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        preprocess(data, spec_for(3, "NCHW"))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels and holds none."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# The worker command silences Pillow's warning (its own limit decides); so does this test.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [10_000, 100_000])
def test_a_decompression_bomb_header_is_refused_before_decoding(side: int) -> None:
    with pytest.raises(DecodeError, match="too large"):
        preprocess(png_header_only(side, side), spec_for(3, "NCHW"))


def test_the_pixel_limit_is_configurable() -> None:
    data = make_image(64, 64)
    with pytest.raises(DecodeError, match="too large"):
        decode_pixels(data, 3, (8, 8), max_pixels=64 * 63)
    assert decode_pixels(data, 3, (8, 8), max_pixels=64 * 64).shape == (8, 8, 3)


def test_a_png_with_corrupt_pixel_data_is_a_decode_error_not_blank_pixels() -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64), 200, np.uint8), "L").save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    start = data.index(b"IDAT") + 8
    for k in range(start, start + 20):
        data[k] ^= 0xFF
    with pytest.raises(DecodeError):
        decode_module.decode(bytes(data), 1, (8, 8))

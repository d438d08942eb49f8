"""Image bytes → the model's input tensor, following the model's ``InputSpec``.

The pipeline, in this order (each step chosen so the expensive work happens on as few pixels as
possible):

1. Decode with Pillow from the bytes (the format is sniffed; a file's name is never trusted), after
   checking the header's pixel count against ``max_pixels`` (decompression bombs).
2. JPEG only: ``draft()`` asks libjpeg for a reduced-size decode (1/2, 1/4 or 1/8 scale) that is
   still at least the input size, which is several times faster than a full decode.
3. EXIF orientation is applied.
4. Any mode becomes ``L``/``LA`` (1 channel) or ``RGB``/``RGBA`` (3 channels): palettes are
   expanded, 16-bit and float grey are scaled to 0..255, CMYK and YCbCr are converted.
5. Alpha is composited onto black (``ALPHA_BACKGROUND``) by premultiplying, which Pillow also
   uses to resize without colour bleeding from transparent pixels.
6. Bilinear resize to width x height (``resize: stretch``: the aspect ratio is not kept), or
   (``resize: letterbox``) to the largest size of the same aspect ratio that fits, centred on
   a canvas of the ``pad`` colour; ``Geometry`` maps the model's coordinates back.
7. ``x = (p * scale - mean[c]) / std[c]`` in float32, laid out as NCHW, NHWC or flat.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from visionhub.worker.protocol import InputSpec

FloatArray = npt.NDArray[np.float32]

# Transparent pixels become black: compositing onto black is premultiplying, and premultiplied
# pixels are what Pillow resizes anyway.
ALPHA_BACKGROUND = 0

# The same default as Pillow's own decompression-bomb limit (about 89 megapixels).
DEFAULT_MAX_PIXELS = 89_478_485

# EXIF orientations that swap width and height.
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_TO_RGB = frozenset({"CMYK", "YCbCr", "LAB", "HSV", "RGBX"})


class DecodeError(ValueError):
    """The bytes are not an image this worker can read (reported as the request's error)."""


@dataclass(frozen=True, slots=True)
class Geometry:
    """How a model input's pixels map to the original image (after its EXIF orientation):
    ``original = (input - pad) / scale`` on each axis."""

    width: int
    height: int
    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0


def fitted_size(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The size of a ``width`` x ``height`` image letterboxed into ``box`` (at least 1x1)."""
    ratio = min(box[0] / width, box[1] / height)
    return max(1, min(box[0], round(width * ratio))), max(1, min(box[1], round(height * ratio)))


def decode(
    data: bytes,
    channels: int,
    size: tuple[int, int] | None = None,
    *,
    reduce: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode ``data`` into an ``L`` (channels 1) or ``RGB`` (channels 3) image of ``size``.

    With ``reduce`` JPEGs are decoded at reduced size when ``size`` allows it. Raises
    ``DecodeError`` for anything that is not a readable image within ``max_pixels``.
    """
    pixels = decode_pixels(data, channels, size, reduce=reduce, max_pixels=max_pixels)
    return Image.fromarray(pixels, "L" if channels == 1 else "RGB")


def decode_pixels(
    data: bytes,
    channels: int,
    size: tuple[int, int] | None = None,
    *,
    reduce: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> npt.NDArray[np.uint8]:
    """Like ``decode``, as a uint8 array of shape (height, width, channels)."""
    return decode_with_size(data, channels, size, reduce=reduce, max_pixels=max_pixels)[0]


def decode_with_size(
    data: bytes,
    channels: int,
    size: tuple[int, int] | None = None,
    *,
    reduce: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    letterbox: bool = False,
) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """Like ``decode_pixels``, with the original size (width, height, after EXIF orientation);
    with ``letterbox``, the pixels are resized to fit ``size`` keeping their aspect ratio."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    try:
        return _decode(
            data, channels, size, reduce=reduce, max_pixels=max_pixels, letterbox=letterbox
        )
    except DecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"image too large: {exc}") from None
    except Exception as exc:  # every decoder failure is the image's fault
        raise DecodeError(f"cannot decode image: {type(exc).__name__}: {exc}") from None


def _decode(
    data: bytes,
    channels: int,
    size: tuple[int, int] | None,
    *,
    reduce: bool,
    max_pixels: int | None,
    letterbox: bool = False,
) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    if not data:
        raise DecodeError("empty image")
    # Pillow itself refuses more than twice Image.MAX_IMAGE_PIXELS and warns above it (the
    # worker command silences that warning: ``max_pixels`` below is the limit that counts).
    im: Image.Image = Image.open(io.BytesIO(data))
    width, height = im.size
    if width < 1 or height < 1:
        raise DecodeError(f"image has no pixels ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise DecodeError(f"image too large: {width}x{height} pixels, limit {max_pixels}")
    # JPEG keeps EXIF in its header, so the orientation is known before decoding (draft needs
    # it); PNG may keep it after the pixels, and reading it first would decode the image and
    # swallow a decoding error, leaving blank pixels. So other formats decode first.
    orientation = _orientation(im) if im.format == "JPEG" else None
    box = size
    if reduce and box is not None and im.format == "JPEG":
        target = fitted_size(*_upright(width, height, orientation), box) if letterbox else box
        if orientation in _TRANSPOSING_ORIENTATIONS:
            target = (target[1], target[0])
        # Asking for L lets libjpeg skip the colour conversion (it returns the Y plane).
        im.draft("L" if channels == 1 and im.mode in ("L", "RGB") else None, target)
    im.load()
    if im.format != "JPEG":
        orientation = _orientation(im)
    upright = _upright(width, height, orientation)
    if box is not None and letterbox:
        size = fitted_size(*upright, box)
    if orientation not in (None, 1):
        im = ImageOps.exif_transpose(im)
    im = _to_working_mode(im, channels)
    premultiplied = im.mode in ("LA", "RGBA")
    if premultiplied:
        im = im.convert("La" if im.mode == "LA" else "RGBa")
    if size is not None and im.size != size:
        im = im.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(im)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if premultiplied:
        color = pixels[:, :, :-1]
        if ALPHA_BACKGROUND:
            # Onto a non-black background b: premultiplied + b * (1 - alpha).
            alpha = pixels[:, :, -1:].astype(np.uint16)
            color = (color + (ALPHA_BACKGROUND * (255 - alpha) + 127) // 255).astype(np.uint8)
        pixels = color
    if channels == 3 and pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels), upright


def _upright(width: int, height: int, orientation: int | None) -> tuple[int, int]:
    return (height, width) if orientation in _TRANSPOSING_ORIENTATIONS else (width, height)


def _orientation(im: Image.Image) -> int | None:
    try:
        value: Any = im.getexif().get(0x0112)
    except Exception:  # a broken EXIF block must not lose the image
        return None
    return value if isinstance(value, int) else None


def _to_working_mode(im: Image.Image, channels: int) -> Image.Image:
    """``L``/``LA`` for one channel (grey stays grey until after the resize), else ``RGB``/``RGBA``.

    A grey image wanted in three channels is kept in ``L`` here and replicated after the resize,
    which is three times less resizing.
    """
    mode = im.mode
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode.startswith("I") or mode == "F":
        im = _deep_grey_to_l(im)
    elif mode in ("La", "RGBa"):
        im = im.convert("LA" if mode == "La" else "RGBA")
    elif mode in _TO_RGB:
        try:
            im = im.convert("RGB")
        except ValueError as exc:
            raise DecodeError(f"unsupported image mode {mode}: {exc}") from None
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        raise DecodeError(f"unsupported image mode {mode}")
    if im.mode in ("LA", "RGBA") and im.getchannel("A").getextrema()[0] == 255:
        # Opaque everywhere (common in screenshots and exports): compositing changes nothing.
        im = im.convert("L" if channels == 1 or im.mode == "LA" else "RGB")
    if channels == 1 and im.mode in ("RGB", "RGBA"):
        im = im.convert("L" if im.mode == "RGB" else "LA")
    return im


def _deep_grey_to_l(im: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float grey to 8 bits, scaled by the range the mode implies.

    ``I;16*`` is 0..65535. ``I`` and ``F`` carry no range, so it is guessed from the values:
    within 0..1 (float only) or 0..255 as is, within 0..65535 as 16-bit, else by the maximum.
    """
    values = np.asarray(im).astype(np.float32)
    if im.mode.startswith("I;16"):
        top = 65535.0
    else:
        peak = float(values.max()) if values.size else 0.0
        if im.mode == "F" and float(values.min()) >= 0.0 and peak <= 1.0:
            top = 1.0
        elif peak <= 255.0:
            top = 255.0
        elif peak <= 65535.0:
            top = 65535.0
        else:
            top = peak
    scaled = np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, "L")


def normalize(pixels: npt.NDArray[np.uint8], spec: InputSpec) -> FloatArray:
    """uint8 (H, W, C) pixels → the float32 tensor of one image in ``spec``'s layout."""
    factor = np.asarray([spec.scale / s for s in spec.std], dtype=np.float32)
    offset = np.asarray(
        [-m / s for m, s in zip(spec.mean, spec.std, strict=True)], dtype=np.float32
    )
    tensor = pixels.astype(np.float32)
    tensor *= factor
    tensor += offset
    if spec.layout == "NCHW":
        return np.ascontiguousarray(tensor.transpose(2, 0, 1))
    if spec.layout == "flat":
        return tensor.reshape(-1)
    return tensor


def preprocess(
    data: bytes,
    spec: InputSpec,
    *,
    reduce: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> FloatArray:
    """Image bytes → one image's float32 input tensor (``spec.tensor_shape``).

    This is the worker's whole preprocessing; training code that wants the same input as the
    worker should call it too. Raises ``DecodeError`` for unreadable images.
    """
    pixels = decode_pixels(
        data, spec.channels, (spec.width, spec.height), reduce=reduce, max_pixels=max_pixels
    )
    return normalize(pixels, spec)


def prepare(
    data: bytes,
    spec: InputSpec,
    *,
    reduce: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> tuple[FloatArray, Geometry]:
    """Like ``preprocess``, with the ``Geometry`` that maps the tensor's pixels back to the
    original image (for detection models, whose boxes are in the tensor's pixels)."""
    box = (spec.width, spec.height)
    letterbox = spec.resize == "letterbox"
    pixels, (width, height) = decode_with_size(
        data, spec.channels, box, reduce=reduce, max_pixels=max_pixels, letterbox=letterbox
    )
    if not letterbox:
        return normalize(pixels, spec), Geometry(
            width, height, spec.width / width, spec.height / height
        )
    fh, fw = pixels.shape[:2]
    pad_x, pad_y = (spec.width - fw) // 2, (spec.height - fh) // 2
    fill = np.asarray([round(v) for v in spec.pad], dtype=np.uint8)
    canvas = np.empty((spec.height, spec.width, spec.channels), dtype=np.uint8)
    canvas[...] = fill
    canvas[pad_y : pad_y + fh, pad_x : pad_x + fw] = pixels
    return normalize(canvas, spec), Geometry(width, height, fw / width, fh / height, pad_x, pad_y)

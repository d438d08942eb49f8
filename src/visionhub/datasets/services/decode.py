"""Decoding and checking uploaded images with Pillow, and making their thumbnails.

The bytes decide what an image is, never its file name: Pillow reads the header, ``verify()``
checks the structure and a full ``load()`` catches truncated data. The checks run in this order,
so the first failing one names the error: undecodable (``invalid_image``), too many pixels
(``image_too_large``), smaller than the dataset's minimums (``image_too_small``), off the dataset's
aspect ratio (``aspect_ratio_mismatch``), truncated (``invalid_image``).
"""

from __future__ import annotations

import ctypes
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from django.conf import settings
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from visionhub.core.errors import ApiError, Invalid, TooLarge

THUMBNAIL_SIZE = 256
RATIO_TOLERANCE = 0.01
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    MemoryError,
    ZeroDivisionError,
    AttributeError,
)


class InvalidImage(Invalid):
    code = "invalid_image"


class ImageTooSmall(Invalid):
    code = "image_too_small"


class AspectRatioMismatch(Invalid):
    code = "aspect_ratio_mismatch"


class ImageTooLarge(TooLarge):
    code = "image_too_large"


@dataclass(frozen=True)
class Rules:
    """What a dataset demands of its images (seed 001)."""

    min_width: int = 0
    min_height: int = 0
    maintain_ratio: bool = False


@dataclass(frozen=True)
class Decoded:
    width: int
    height: int
    format: str
    thumbnail: bytes


def max_bytes() -> int:
    return int(getattr(settings, "MAX_IMAGE_BYTES", 50 * 1024 * 1024))


def max_pixels() -> int:
    return int(getattr(settings, "MAX_IMAGE_PIXELS", 100_000_000))


def check_size(width: int, height: int, rules: Rules) -> None:
    """Raise ``image_too_large``, ``image_too_small`` or ``aspect_ratio_mismatch``."""
    limit = max_pixels()
    if width * height > limit:
        raise ImageTooLarge(
            message=f"{width}x{height} is more than {limit} pixels",
            details={"width": width, "height": height, "max_pixels": limit},
        )
    if width < rules.min_width or height < rules.min_height:
        raise ImageTooSmall(
            message=(
                f"{width}x{height} is smaller than the dataset's minimum "
                f"{rules.min_width}x{rules.min_height}"
            ),
            details={
                "width": width,
                "height": height,
                "min_width": rules.min_width,
                "min_height": rules.min_height,
            },
        )
    if rules.maintain_ratio and rules.min_width > 0 and rules.min_height > 0:
        expected = rules.min_width / rules.min_height
        actual = width / height
        if abs(actual / expected - 1) > RATIO_TOLERANCE:
            raise AspectRatioMismatch(
                message=(
                    f"{width}x{height} does not keep the dataset's ratio "
                    f"{rules.min_width}:{rules.min_height} (1% tolerance)"
                ),
                details={"width": width, "height": height, "ratio": round(expected, 6)},
            )


# Decoding costs about 3 to 9 bytes of memory per pixel; past LARGE_DECODE_PIXELS, decodes take
# turns (VISIONHUB_LARGE_DECODES at once per process), so a few small uploads of huge PNGs
# (a 389 kB file can hold 100 megapixels) cannot add up to gigabytes.
LARGE_DECODE_PIXELS = 16_000_000
_large_decodes = threading.BoundedSemaphore(int(getattr(settings, "LARGE_DECODES", 1)))


try:
    _malloc_trim: Any = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


@contextmanager
def _decode_slot(pixels: int) -> Iterator[None]:
    if pixels <= LARGE_DECODE_PIXELS:
        yield
        return
    with _large_decodes:
        try:
            yield
        finally:
            # glibc keeps what a thread freed in that thread's arena: without handing it back,
            # the next large decode (on another thread) would add to the process's size.
            if _malloc_trim is not None:
                _malloc_trim(0)


def decode(source: IO[bytes], rules: Rules) -> Decoded:
    """Check the image in ``source`` (seekable) against ``rules`` and make its thumbnail.

    Raises one of the errors above; reads ``source`` from the start and leaves its position
    undefined.
    """
    try:
        source.seek(0)
        with PILImage.open(source) as image:
            width, height = image.size
            fmt = image.format or "unknown"
            check_size(width, height, rules)
            image.verify()
        source.seek(0)
        with _decode_slot(width * height), PILImage.open(source) as image:
            # A JPEG is decoded at the smallest DCT scale that still gives the thumbnail
            # (every byte is still read, so a truncated file is still caught).
            image.draft(None, (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))
            image.load()
            thumbnail = make_thumbnail(image)
    except ApiError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageTooLarge(message=str(exc), details={"max_pixels": max_pixels()}) from None
    except _DECODE_ERRORS as exc:
        raise InvalidImage(
            message="the file is not a complete image Pillow can decode",
            details={"reason": str(exc)[:200]},
        ) from None
    return Decoded(width=width, height=height, format=fmt.upper(), thumbnail=thumbnail)


def make_thumbnail(image: PILImage.Image) -> bytes:
    """A JPEG of at most 256x256 pixels (aspect kept, transparency flattened onto white)."""
    if image.mode in _HIGH_DEPTH_MODES:
        pixels = np.asarray(image, dtype=np.float64)
        top = float(pixels.max()) or 1.0
        image = PILImage.fromarray((pixels * (255.0 / top)).clip(0, 255).astype(np.uint8), "L")
    elif image.mode not in ("L", "RGB", "RGBA", "LA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    if image.mode in ("RGBA", "LA"):
        flat = PILImage.new("RGB", image.size, (255, 255, 255))
        flat.paste(image.convert("RGBA"), mask=image.getchannel("A"))
        image = flat
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
    "MPO": "image/jpeg",
}


def content_type(fmt: str) -> str:
    return CONTENT_TYPES.get(fmt.upper(), "application/octet-stream")


EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp"}


def extension(fmt: str) -> str:
    return EXTENSIONS.get(fmt.upper(), f".{fmt.lower()}")

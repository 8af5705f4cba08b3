"""Decode uploaded photo bytes into an upright 8-bit RGB array with Pillow.

Every mode a photo can arrive in is turned into RGB on purpose rather than by Pillow's
default: transparent pixels are composited on white (a transparent background would turn
black otherwise), 16-bit and 32-bit integer grayscale is rescaled instead of clipped to
white, and the EXIF orientation is applied so that phone photos stand upright. Absurd
dimensions are refused before any pixel is decoded (decompression bombs).
"""

from __future__ import annotations

import io
import warnings
from typing import Final

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from workers.face.errors import IMAGE_TOO_LARGE, UNDECODABLE_IMAGE, FaceRejected

DEFAULT_MAX_PIXELS: Final = 40_000_000
DEFAULT_MAX_SIDE: Final = 16_384
DRAFT_MIN_SIDE: Final = 1_600
ALPHA_MODES: Final = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
WIDE_INTEGER_MODES: Final = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
WHITE: Final = (255, 255, 255, 255)

# Pillow's own guard, kept at the same order of magnitude as ours: it warns above this
# many pixels and raises above twice as many; decode_rgb turns the warning into a refusal.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


def decode_rgb(
    image_bytes: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
) -> np.ndarray:
    """Return the photo as a contiguous ``H x W x 3`` uint8 RGB array, upright.

    Raises ``FaceRejected`` with ``undecodable_image`` or ``image_too_large``.
    """
    if not image_bytes:
        raise FaceRejected(UNDECODABLE_IMAGE, "the upload is empty: send a JPEG or PNG photo")

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image: Image.Image = Image.open(io.BytesIO(image_bytes))
            _refuse_absurd_size(image, max_pixels, max_side)
            _decode_reduced_if_huge(image)
            image.load()
            image = _upright(image)
            rgb = to_rgb(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise FaceRejected(
                IMAGE_TOO_LARGE, "the image has too many pixels: send a photo under 40 MP"
            ) from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
            raise FaceRejected(
                UNDECODABLE_IMAGE,
                "the file is not a readable image or is truncated: send a JPEG or PNG photo",
            ) from error

    return np.ascontiguousarray(rgb)


def _refuse_absurd_size(image: Image.Image, max_pixels: int, max_side: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise FaceRejected(UNDECODABLE_IMAGE, "the image has no pixels: send a real photo")

    if width * height > max_pixels or max(width, height) > max_side:
        raise FaceRejected(
            IMAGE_TOO_LARGE,
            f"the image is {width}x{height} pixels: send a photo under "
            f"{max_pixels // 1_000_000} MP and {max_side} pixels a side",
        )


def _decode_reduced_if_huge(image: Image.Image) -> None:
    """Let the JPEG decoder shrink big photos by 2, 4 or 8 (far faster, still sharp)."""
    if image.format != "JPEG":
        return

    width, height = image.size
    longest = max(width, height)
    if longest <= 2 * DRAFT_MIN_SIDE:
        return

    ratio = DRAFT_MIN_SIDE / longest
    image.draft(image.mode, (max(1, int(width * ratio)), max(1, int(height * ratio))))


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; a photo with an unreadable tag is used as stored."""
    try:
        transposed = ImageOps.exif_transpose(image)
    except (SyntaxError, ValueError, TypeError, KeyError, OSError):
        return image

    return transposed if transposed is not None else image


def to_rgb(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to an ``H x W x 3`` uint8 RGB array."""
    mode = image.mode

    if mode == "RGB":
        return np.asarray(image)

    if mode in WIDE_INTEGER_MODES:
        gray = _wide_to_8bit(np.asarray(image))
        return np.repeat(gray[:, :, None], 3, axis=2)

    if mode == "F":
        gray = np.clip(np.asarray(image), 0, 255).round().astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)

    if mode in ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        return _on_white(image.convert("RGBA"))

    if mode == "L" and "transparency" in image.info:
        return _on_white(image.convert("RGBA"))

    # "1", "L", "P", "CMYK", "YCbCr", "LAB", "HSV": Pillow's converters are exact enough.
    return np.asarray(image.convert("RGB"))


def _wide_to_8bit(values: np.ndarray) -> np.ndarray:
    """Map 16-bit samples (0..65535) to 0..255; wider ``I`` images are clipped to 16 bits."""
    wide = np.clip(values.astype(np.float32), 0, 65_535)

    return np.round(wide / 257.0).astype(np.uint8)


def _on_white(rgba: Image.Image) -> np.ndarray:
    background = Image.new("RGBA", rgba.size, WHITE)

    return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))

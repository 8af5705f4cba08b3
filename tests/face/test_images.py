"""Decoding and colour conversion of uploaded photos (no models needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.face.conftest import encode
from workers.face import FaceRejected
from workers.face.images import decode_rgb, to_rgb


def checkerboard() -> np.ndarray:
    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[::2, ::2] = (200, 40, 10)
    pixels[1::2, 1::2] = (10, 90, 220)

    return pixels


@pytest.mark.parametrize("mode", ["RGBA", "LA", "PA"])
def test_transparent_pixels_become_white(mode: str) -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., :3] = 30
    rgba[:2, :, 3] = 255  # top half opaque dark grey, bottom half fully transparent
    image = Image.fromarray(rgba, mode="RGBA")
    if mode != "RGBA":
        image = image.convert(mode)

    rgb = to_rgb(image)

    assert rgb.shape == (4, 4, 3) and rgb.dtype == np.uint8
    assert (rgb[2:] == 255).all()
    assert (np.abs(rgb[:2].astype(int) - 30) <= 2).all()


def test_palette_with_transparency_is_composited() -> None:
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 50, 60, 70] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.info["transparency"] = 0

    rgb = to_rgb(image)

    assert tuple(rgb[0, 0]) == (255, 255, 255)
    assert tuple(rgb[1, 1]) == (50, 60, 70)


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_wide_grayscale_is_rescaled_not_clipped(mode: str) -> None:
    levels = np.array([[0, 257 * 100], [257 * 200, 65_535]], dtype=np.uint16)
    image = Image.fromarray(levels)  # uint16 -> mode I;16
    assert image.mode == "I;16"
    if mode == "I":
        image = image.convert("I")

    rgb = to_rgb(image)

    assert rgb[..., 0].tolist() == [[0, 100], [200, 255]]
    assert (rgb[..., 0] == rgb[..., 2]).all()


def test_one_bit_and_cmyk_convert() -> None:
    bilevel = Image.fromarray(np.array([[0, 255]], dtype=np.uint8)).convert("1")
    cmyk = Image.fromarray(checkerboard()).convert("CMYK")

    assert to_rgb(bilevel).tolist() == [[[0, 0, 0], [255, 255, 255]]]
    assert (to_rgb(cmyk) == checkerboard()).all()


def test_exif_orientation_is_applied() -> None:
    upright = Image.new("RGB", (40, 20), (250, 250, 250))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # 20 wide, 40 high
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to display

    rgb = decode_rgb(encode(stored, "JPEG", exif=exif.tobytes()))

    assert rgb.shape == (20, 40, 3)


def test_size_limits_are_configurable() -> None:
    photo = encode(Image.new("RGB", (300, 200)))

    with pytest.raises(FaceRejected) as caught:
        decode_rgb(photo, max_pixels=50_000)

    assert caught.value.reason == "image_too_large"
    assert decode_rgb(photo).shape == (200, 300, 3)


def test_unknown_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown rejection reason"):
        FaceRejected("blurry", "not a reason this pipeline gives")

"""The face pipeline on real LFW photos: verification, refusals and colour modes."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from tests.face.conftest import encode, gradient
from workers.face import FacePipeline, FaceRejected

SAME_PERSON = [
    ("Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Aaron_Peirsol/Aaron_Peirsol_0002.jpg"),
    ("Colin_Powell/Colin_Powell_0001.jpg", "Colin_Powell/Colin_Powell_0010.jpg"),
    ("Serena_Williams/Serena_Williams_0001.jpg", "Serena_Williams/Serena_Williams_0003.jpg"),
]
DIFFERENT_PEOPLE = [
    ("Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "Colin_Powell/Colin_Powell_0001.jpg"),
    ("Serena_Williams/Serena_Williams_0001.jpg", "Laura_Bush/Laura_Bush_0001.jpg"),
    ("Colin_Powell/Colin_Powell_0010.jpg", "George_W_Bush/George_W_Bush_0001.jpg"),
]
ORIGINAL = "Colin_Powell/Colin_Powell_0001.jpg"
LoadPhoto = Callable[[str], Image.Image]


def embed_photo(pipeline: FacePipeline, image: Image.Image, fmt: str = "PNG") -> np.ndarray:
    return pipeline.embed(encode(image, fmt)).vector


@pytest.mark.parametrize(("first", "second"), SAME_PERSON)
def test_same_person_verifies(
    pipeline: FacePipeline, load_photo: LoadPhoto, first: str, second: str
) -> None:
    a = embed_photo(pipeline, load_photo(first), "JPEG")
    b = embed_photo(pipeline, load_photo(second), "JPEG")

    assert pipeline.compare(a, b) < pipeline.threshold
    assert pipeline.is_same_person(a, b)


@pytest.mark.parametrize(("first", "second"), DIFFERENT_PEOPLE)
def test_different_people_do_not_verify(
    pipeline: FacePipeline, load_photo: LoadPhoto, first: str, second: str
) -> None:
    a = embed_photo(pipeline, load_photo(first), "JPEG")
    b = embed_photo(pipeline, load_photo(second), "JPEG")

    assert pipeline.compare(a, b) > pipeline.threshold


def test_embedding_carries_box_and_score(pipeline: FacePipeline, load_photo: LoadPhoto) -> None:
    result = pipeline.embed(encode(load_photo(ORIGINAL)))

    assert result.vector.shape == (pipeline.card.embedding_dim,)
    assert result.vector.dtype == np.float32
    assert 0.8 < result.detector_score <= 1.0
    assert 0 <= result.box.left < result.box.right <= 250
    assert 0 <= result.box.top < result.box.bottom <= 250
    assert result.faces_detected >= 1


def test_no_face_in_a_gradient(pipeline: FacePipeline) -> None:
    with pytest.raises(FaceRejected) as caught:
        pipeline.embed(encode(gradient(640, 480)))

    assert caught.value.reason == "no_face"


def test_small_face_in_a_big_canvas(pipeline: FacePipeline, load_photo: LoadPhoto) -> None:
    face = load_photo(ORIGINAL).resize((100, 100), Image.Resampling.LANCZOS)  # face ~35 px
    canvas = gradient(640, 480)
    canvas.paste(face, (270, 190))

    with pytest.raises(FaceRejected) as caught:
        pipeline.embed(encode(canvas))

    assert caught.value.reason == "face_too_small"
    assert "move closer" in caught.value.detail


def test_two_comparable_faces_side_by_side(pipeline: FacePipeline, load_photo: LoadPhoto) -> None:
    canvas = Image.new("RGB", (500, 250))
    canvas.paste(load_photo(ORIGINAL), (0, 0))
    canvas.paste(load_photo("George_W_Bush/George_W_Bush_0001.jpg"), (250, 0))

    with pytest.raises(FaceRejected) as caught:
        pipeline.embed(encode(canvas))

    assert caught.value.reason == "multiple_faces"


def test_small_background_face_does_not_block(
    pipeline: FacePipeline, load_photo: LoadPhoto
) -> None:
    main = load_photo(ORIGINAL).resize((400, 400), Image.Resampling.BICUBIC)
    canvas = gradient(640, 480)
    canvas.paste(main, (120, 40))
    canvas.paste(load_photo("George_W_Bush/George_W_Bush_0001.jpg").resize((140, 140)), (0, 0))

    result = pipeline.embed(encode(canvas))
    original = embed_photo(pipeline, load_photo(ORIGINAL))

    assert result.faces_detected >= 2
    assert pipeline.compare(result.vector, original) < 0.5 * pipeline.threshold


@pytest.mark.parametrize(
    "payload", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 64]
)
def test_undecodable_bytes(pipeline: FacePipeline, payload: bytes) -> None:
    with pytest.raises(FaceRejected) as caught:
        pipeline.embed(payload)

    assert caught.value.reason == "undecodable_image"


def test_truncated_jpeg_is_undecodable(pipeline: FacePipeline, load_photo: LoadPhoto) -> None:
    data = encode(load_photo(ORIGINAL), "JPEG")

    with pytest.raises(FaceRejected) as caught:
        pipeline.embed(data[: len(data) // 2])

    assert caught.value.reason == "undecodable_image"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels but holds almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)

    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 6_000), (1, 60_000)])
def test_decompression_bomb_is_refused(pipeline: FacePipeline, width: int, height: int) -> None:
    with pytest.raises(FaceRejected) as caught:
        pipeline.embed(png_header_only(width, height))

    assert caught.value.reason == "image_too_large"


def to_cmyk(image: Image.Image) -> bytes:
    return encode(image.convert("CMYK"), "JPEG", quality=95)


def to_rgba_transparent_border(image: Image.Image) -> bytes:
    rgba = image.convert("RGBA")
    alpha = np.full((image.height, image.width), 255, dtype=np.uint8)
    alpha[:20, :] = 0
    alpha[:, :20] = 0
    rgba.putalpha(Image.fromarray(alpha))
    return encode(rgba)


def to_sixteen_bit(image: Image.Image) -> bytes:
    gray = np.asarray(image.convert("L")).astype(np.uint16) * 257
    return encode(Image.fromarray(gray))  # uint16 -> mode I;16


def to_gray(image: Image.Image) -> bytes:
    return encode(image.convert("L"))


def to_palette(image: Image.Image) -> bytes:
    return encode(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=256))


def to_exif_rotated_jpeg(image: Image.Image) -> bytes:
    """Pixels stored turned 90 degrees, with the EXIF tag that turns them back upright."""
    stored = image.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90 degrees clockwise to display
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


@pytest.mark.parametrize(
    ("encoder", "share_of_threshold"),
    [
        (to_cmyk, 0.25),
        (to_rgba_transparent_border, 0.25),
        (to_sixteen_bit, 0.5),  # grayscale loses colour: about 0.1 apart in L2 space
        (to_gray, 0.5),
        (to_palette, 0.3),
        (to_exif_rotated_jpeg, 0.25),
    ],
    ids=["CMYK", "RGBA", "I;16", "L", "P", "EXIF-rotated"],
)
def test_colour_modes_embed_close_to_rgb(
    pipeline: FacePipeline,
    load_photo: LoadPhoto,
    encoder: Callable[[Image.Image], bytes],
    share_of_threshold: float,
) -> None:
    image = load_photo(ORIGINAL)
    original = embed_photo(pipeline, image)

    converted = pipeline.embed(encoder(image)).vector

    assert pipeline.compare(original, converted) < share_of_threshold * pipeline.threshold

"""Photo bytes for upload tests: valid images of each format and the hostile kinds."""

import io
import struct
import zlib

from PIL import Image


def encoded(image_format: str, width: int = 64, height: int = 64) -> bytes:
    """A noisy image (so that truncation cuts real data) encoded as `image_format`."""
    image = Image.effect_noise((width, height), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


def png(width: int = 64, height: int = 64) -> bytes:
    return encoded("PNG", width, height)


def jpeg(width: int = 64, height: int = 64) -> bytes:
    return encoded("JPEG", width, height)


def truncated_jpeg() -> bytes:
    """A JPEG whose header is intact but whose scan data stops halfway."""
    whole = jpeg(256, 256)
    return whole[: len(whole) // 2]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, well-formed PNG that declares `width` x `height` pixels (10^10 by default)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def png_with_bad_checksum() -> bytes:
    """A PNG whose image data chunk fails its CRC, as after a bit flip in transit."""
    data = bytearray(png())
    idat = data.index(b"IDAT")
    data[idat + 8] ^= 0xFF
    return bytes(data)

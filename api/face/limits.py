"""Limits on accepted photos. Byte and pixel budgets come from settings; these are fixed."""

from typing import Final

# Formats identified from the bytes (never from the declared content type). Animated and
# multi-page formats are left out: the face model reads a single still image.
ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP")
ACCEPTED_FORMAT_NAMES: Final = "JPEG, PNG or WebP"

MIN_SIDE_PX: Final = 32  # smaller cannot hold a face the detector finds
MAX_SIDE_PX: Final = 12_000

# Multipart framing (boundaries, part headers) sent around the photo itself.
MULTIPART_OVERHEAD_BYTES: Final = 16 * 1024
UPLOAD_CHUNK_BYTES: Final = 64 * 1024

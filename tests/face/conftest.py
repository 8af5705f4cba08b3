"""Fixtures for the face pipeline tests: real LFW photos, one pipeline per test session.

These tests run without Postgres or Redis; the suite-wide autouse database fixtures are
replaced by no-ops for this directory.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workers.face import FacePipeline

REPO_ROOT = Path(__file__).resolve().parents[2]


def lfw_dir() -> Path:
    return Path(os.environ.get("LFW_DIR", REPO_ROOT.parent / "shared" / "data" / "lfw"))


@pytest.fixture(scope="session")
def migrated_database() -> None:
    """The face tests need no database: this replaces the suite-wide migration fixture."""


@pytest.fixture
def clean_state() -> None:
    """The face tests touch neither Postgres nor Redis: nothing to empty between tests."""


@pytest.fixture(scope="session")
def lfw_images() -> Path:
    images = lfw_dir() / "images"
    if not images.is_dir():
        pytest.skip(f"LFW not found at {images}: set LFW_DIR to the LFW root (with images/)")

    return images


@pytest.fixture(scope="session")
def pipeline() -> FacePipeline:
    return FacePipeline(threads=1)


@pytest.fixture(scope="session")
def load_photo(lfw_images: Path) -> Callable[[str], Image.Image]:
    """Open an LFW photo by its relative path, e.g. ``Name/Name_0001.jpg``, as RGB."""

    def load(relative: str) -> Image.Image:
        return Image.open(lfw_images / relative).convert("RGB")

    return load


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)

    return buffer.getvalue()


def gradient(width: int, height: int) -> Image.Image:
    """A smooth colour gradient: an image without any face."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, axis=1)
    pixels = np.stack([x, y, (x + y) / 2], axis=-1).astype(np.uint8)

    return Image.fromarray(pixels)

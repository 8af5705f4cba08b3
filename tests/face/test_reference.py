"""Reference outputs: the pipeline must reproduce pinned embeddings of LFW photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workers.face import FacePipeline

REFERENCE_PATH = Path(__file__).with_name("reference_embeddings.json")
REGENERATE = "regenerate with `.venv/bin/python tests/face/make_reference.py` if intended"


def test_pinned_embeddings_are_reproduced(pipeline: FacePipeline, lfw_images: Path) -> None:
    reference = json.loads(REFERENCE_PATH.read_text())
    card = pipeline.card
    variant = (card.state_dict_sha256, card.l2_normalised, card.flip_average)
    pinned = (reference["weights_sha256"], reference["l2_normalised"], reference["flip_average"])
    assert variant == pinned, f"weights or metric variant changed since pinning: {REGENERATE}"

    for photo in reference["photos"]:
        result = pipeline.embed((lfw_images / photo["lfw_path"]).read_bytes())
        expected = np.array(photo["vector"], dtype=np.float32)

        difference = float(np.abs(result.vector - expected).max())
        assert difference < reference["tolerance"], f"{photo['lfw_path']}: {REGENERATE}"
        box = [result.box.left, result.box.top, result.box.right, result.box.bottom]
        assert box == pytest.approx(photo["box"], abs=1)

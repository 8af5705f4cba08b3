"""From photo bytes to a 128-d face embedding: decode, detect, align, embed.

- Detection: RetinaFace MobileNet-0.25 (MIT weights) on onnxruntime, on a downscaled copy.
- Alignment: dlib's 5-point landmarks (CC0) in the detected box and ``dlib.get_face_chip``
  on the full-resolution photo, as dlib's network was trained.
- Embedding: dlib's face recognition ResNet v1 (CC0 weights) rebuilt in PyTorch, optionally
  averaged with the embedding of the mirrored chip; the variant, normalisation and decision
  threshold come from the weights' metadata record, calibrated on LFW.

One ``FacePipeline`` per worker process; it is not thread-safe (one torch and one onnxruntime
session, each pinned to ``threads`` threads).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import structlog
import torch

from workers.face.alignment import FaceAligner
from workers.face.detector import DetectedFace, RetinaFaceDetector
from workers.face.images import DEFAULT_MAX_PIXELS, decode_rgb
from workers.face.model import DlibResNet
from workers.face.subject import choose_subject
from workers.face.weights import (
    DEFAULT_METADATA,
    ModelCard,
    check_expected_shape,
    read_model_card,
    variant_name,
    verify_model_card,
    with_flip_average,
)

log = structlog.get_logger(__name__)

SUPPORTED_DEVICES = ("cpu", "cuda", "mps")
# RetinaFace MobileNet-0.25 finds faces reliably from about this many pixels across; a photo
# without a face at the fast detection size is searched again at a size where a face of
# ``min_face_px`` would be this large, so that "too small" is told apart from "no face".
DETECTABLE_FACE_PX = 32
RETRY_MAX_SIDE = 1280


@dataclass(frozen=True)
class FaceBox:
    """The subject's face box in the upright photo: pixel edges, clipped to the photo."""

    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True)
class FaceEmbedding:
    """The embedding of the photo's subject and where it was found."""

    vector: np.ndarray  # float32, shape (embedding_dim,)
    box: FaceBox
    detector_score: float
    faces_detected: int


class FacePipeline:
    """Turns one photo into one face embedding, or raises ``FaceRejected`` with a reason."""

    def __init__(
        self,
        weights_path: Path | str = DEFAULT_METADATA,
        device: str = "cpu",
        embed_dim: int | None = None,
        img_size: int | None = None,
        threads: int = 1,
        min_face_px: int = 40,
        detect_max_side: int = 320,
        detector_threshold: float = 0.8,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        flip_average: bool | None = None,
        verify_checksums: bool = True,
    ) -> None:
        """Load and check every model file.

        ``weights_path`` is the metadata JSON (or the ``.pt`` beside it). ``embed_dim`` and
        ``img_size``, when given, must match the metadata (``ValueError`` otherwise, naming
        EMBED_DIM or IMG_SIZE). ``device`` ("cpu", "cuda" or "mps") runs the embedding
        network; an unavailable one falls back to the CPU with a warning. Detection and
        landmarks always run on the CPU. ``threads`` pins torch and onnxruntime.
        ``flip_average`` (default: the metadata's choice) also embeds the mirrored chip and
        averages: more accurate on LFW, about 10 ms more per photo; the threshold follows.
        Embeddings made with and without it should not be mixed in one database.
        """
        metadata_path = Path(weights_path)
        if metadata_path.suffix == ".pt":
            metadata_path = metadata_path.with_suffix(".json")

        card = read_model_card(metadata_path)
        check_expected_shape(card, embed_dim, img_size)
        if flip_average is not None:
            card = with_flip_average(card, flip_average)
        if verify_checksums:
            verify_model_card(card)

        self.card = card
        self.threshold = card.threshold
        self.min_face_px = min_face_px
        self.max_pixels = max_pixels
        self.device = resolve_device(device)

        torch.set_num_threads(threads)
        self.detector = RetinaFaceDetector(
            card.detector_path,
            threads=threads,
            max_side=detect_max_side,
            score_threshold=detector_threshold,
        )
        self.aligner = FaceAligner(card.landmarks_path, chip_size=card.input_size)
        self.network = load_network(card, self.device)
        self.mean = torch.tensor(card.mean_rgb, device=self.device).view(1, 3, 1, 1)

        log.info(
            "face.pipeline.loaded",
            device=str(self.device),
            threads=threads,
            flip_average=card.flip_average,
            l2_normalised=card.l2_normalised,
            threshold=card.threshold,
        )

    @property
    def model_tag(self) -> str:
        """Names the weights and metric variant, e.g. ``dlib_resnet_v1/l2:41bb5b7b``.

        Store it beside each embedding: embeddings with different tags are not comparable.
        """
        variant = variant_name(self.card.l2_normalised, self.card.flip_average)

        return f"{self.card.state_dict_path.stem}/{variant}:{self.card.state_dict_sha256[:8]}"

    def embed(self, image_bytes: bytes) -> FaceEmbedding:
        """Embed the subject's face in an encoded photo (JPEG, PNG, WebP, ...)."""
        rgb = decode_rgb(image_bytes, max_pixels=self.max_pixels)

        return self.embed_rgb(rgb)

    def embed_rgb(self, rgb: np.ndarray) -> FaceEmbedding:
        """Embed the subject's face in an upright ``H x W x 3`` uint8 RGB array."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(
                f"expected an H x W x 3 uint8 RGB array, got {rgb.dtype} {rgb.shape}: "
                "decode photos with workers.face.images.decode_rgb"
            )
        rgb = np.ascontiguousarray(rgb)
        face, faces_detected = self.locate(rgb)
        chip = self.aligner.chip(rgb, face)
        vector = self.embed_chips(chip[None])[0]

        height, width = rgb.shape[:2]
        box = FaceBox(
            left=max(0, round(face.left)),
            top=max(0, round(face.top)),
            right=min(width, round(face.right)),
            bottom=min(height, round(face.bottom)),
        )

        return FaceEmbedding(vector, box, face.score, faces_detected)

    def locate(self, rgb: np.ndarray) -> tuple[DetectedFace, int]:
        """The subject's face and how many faces were detected in all."""
        faces = self.detector.detect(rgb)
        height, width = rgb.shape[:2]

        if not faces:
            longest = max(height, width)
            scale = min(1.0, DETECTABLE_FACE_PX / self.min_face_px)
            retry_side = min(RETRY_MAX_SIDE, longest, round(longest * scale))
            if retry_side > self.detector.max_side:
                faces = self.detector.detect(rgb, max_side=retry_side)

        subject = choose_subject(faces, width, height, self.min_face_px)

        return subject, len(faces)

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """Final embeddings (the metadata's variant) of ``N x size x size x 3`` uint8 chips."""
        if not self.card.flip_average:
            return self._finish(self.raw_embeddings(chips))

        both = self.raw_embeddings(np.concatenate([chips, chips[:, :, ::-1]]))
        count = len(chips)

        return self._finish((both[:count] + both[count:]) / 2)

    def raw_embeddings(self, chips: np.ndarray) -> np.ndarray:
        """The network's outputs for ``N x size x size x 3`` uint8 chips, as float32."""
        batch = torch.from_numpy(np.ascontiguousarray(chips)).to(self.device)
        batch = batch.permute(0, 3, 1, 2).float()
        batch = ((batch - self.mean) * self.card.input_scale).contiguous(
            memory_format=torch.channels_last
        )

        with torch.inference_mode():
            output = self.network(batch)
        embeddings: np.ndarray = output.float().cpu().numpy()

        return embeddings

    def _finish(self, vectors: np.ndarray) -> np.ndarray:
        if self.card.l2_normalised:
            vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

        return vectors.astype(np.float32)

    def compare(self, a: np.ndarray, b: np.ndarray) -> float:
        """Euclidean distance between two embeddings; same person when <= ``threshold``."""
        return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))

    def is_same_person(self, a: np.ndarray, b: np.ndarray) -> bool:
        return self.compare(a, b) <= self.threshold


def resolve_device(requested: str) -> torch.device:
    """The requested torch device, or the CPU (with a warning) when it is not available."""
    name = requested.lower().strip()
    if name not in SUPPORTED_DEVICES:
        raise ValueError(f"device {requested!r} is not one of {', '.join(SUPPORTED_DEVICES)}")

    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }[name]
    if available:
        return torch.device(name)

    log.warning(
        "face.device.unavailable",
        requested=name,
        using="cpu",
        hint="install a torch build for this accelerator or set the device to cpu",
    )

    return torch.device("cpu")


def load_network(card: ModelCard, device: torch.device) -> DlibResNet:
    """The ResNet with its weights, affine layers folded in, in eval mode on ``device``."""
    network = DlibResNet()
    state = torch.load(card.state_dict_path, map_location="cpu", weights_only=True)
    network.load_state_dict(state)

    fused = network.fused().eval().to(device)

    return fused.to(memory_format=torch.channels_last)

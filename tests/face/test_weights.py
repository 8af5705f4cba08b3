"""Weights metadata checks: checksums, missing files and settings that disagree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from workers.face import FacePipeline, WeightsError
from workers.face.weights import (
    DEFAULT_METADATA,
    read_model_card,
    variant_name,
    verify_model_card,
)


@pytest.fixture
def weights_copy(tmp_path: Path) -> Path:
    """A private copy of the weights directory; returns its metadata path."""
    card = read_model_card(DEFAULT_METADATA)
    for source in (DEFAULT_METADATA, card.state_dict_path, card.detector_path):
        target = tmp_path / source.name
        try:
            target.symlink_to(source)
        except OSError:
            shutil.copy(source, target)
    metadata = tmp_path / DEFAULT_METADATA.name
    metadata.unlink()
    shutil.copy(DEFAULT_METADATA, metadata)

    return metadata


def test_shipped_weights_match_their_metadata() -> None:
    verify_model_card(read_model_card(DEFAULT_METADATA))


def test_checksum_mismatch_raises(weights_copy: Path) -> None:
    record = json.loads(weights_copy.read_text())
    record["sha256"] = "0" * 64
    weights_copy.write_text(json.dumps(record))

    with pytest.raises(WeightsError, match=r"altered or replaced.*convert_dlib_resnet\.py"):
        FacePipeline(weights_path=weights_copy)


def test_missing_weights_file_raises(weights_copy: Path) -> None:
    (weights_copy.parent / "dlib_resnet_v1.pt").unlink()

    with pytest.raises(WeightsError, match="missing"):
        FacePipeline(weights_path=weights_copy)


def test_missing_metadata_raises(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="convert_dlib_resnet"):
        FacePipeline(weights_path=tmp_path / "dlib_resnet_v1.json")


def test_embed_dim_mismatch_names_the_variable() -> None:
    with pytest.raises(ValueError, match="EMBED_DIM=128"):
        FacePipeline(embed_dim=512)


def test_img_size_mismatch_names_the_variable() -> None:
    with pytest.raises(ValueError, match="IMG_SIZE=150"):
        FacePipeline(img_size=112)


def test_unavailable_device_falls_back_to_cpu() -> None:
    from workers.face.pipeline import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("mps").type in ("mps", "cpu")
    with pytest.raises(ValueError, match="not one of"):
        resolve_device("tpu")


def test_flip_average_override_takes_its_own_threshold() -> None:
    default = read_model_card(DEFAULT_METADATA)
    other = FacePipeline(flip_average=not default.flip_average)

    assert other.card.flip_average is not default.flip_average
    assert (
        other.threshold
        == other.card.variant_thresholds[
            variant_name(default.l2_normalised, not default.flip_average)
        ]
    )


def test_flip_average_without_calibration_raises(weights_copy: Path) -> None:
    record = json.loads(weights_copy.read_text())
    record.pop("metric_variants", None)
    weights_copy.write_text(json.dumps(record))
    flip = not record["metric"]["flip_average"]

    with pytest.raises(WeightsError, match=r"bench/lfw\.py --calibrate"):
        FacePipeline(weights_path=weights_copy, flip_average=flip)

"""The same-person decision, without torch: this process never loads the face model.

The distance is the pipeline's (`workers.face.FacePipeline.compare`): Euclidean, in float32.
The threshold is THRESHOLD_DEFAULT when set, else the one calibrated in the weights' metadata
record (`metric.threshold` in the JSON beside MODEL_WEIGHTS_PATH).
"""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from api.core.settings import Settings


def euclidean_distance(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise ValueError(f"embeddings of {len(a)} and {len(b)} dimensions cannot be compared")
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def decision_threshold(settings: Settings) -> float:
    """THRESHOLD_DEFAULT, or the calibrated threshold; raises ValueError saying what to set."""
    if settings.threshold_default is not None:
        return settings.threshold_default

    metadata_path = Path(settings.model_weights_path).with_suffix(".json")
    if not metadata_path.is_file():
        raise ValueError(
            f"weights metadata {metadata_path} is missing: set MODEL_WEIGHTS_PATH to the .pt "
            "file that has its .json record beside it, or set THRESHOLD_DEFAULT"
        )

    metric = json.loads(metadata_path.read_text())["metric"]
    if metric.get("distance") != "euclidean":
        raise ValueError(
            f"{metadata_path} declares a {metric.get('distance')!r} distance; this worker "
            "compares Euclidean distances: set THRESHOLD_DEFAULT only for Euclidean weights"
        )

    return float(metric["threshold"])

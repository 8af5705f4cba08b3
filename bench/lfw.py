"""LFW View 2 verification benchmark of the face pipeline (all 6,000 pairs, 10 folds).

Every image the pairs use goes through the production path (bytes -> decode -> RetinaFace ->
subject rule -> dlib landmarks -> chip -> dlib ResNet); the raw embeddings of each chip and of
its mirror image are cached under ``.effi/`` so that the embedding variants are compared on
the same chips:

- ``raw``: Euclidean distance between the network's outputs (dlib's own use);
- ``l2``: Euclidean distance after L2-normalising each embedding;
- ``*_flip``: the chip's and the mirrored chip's outputs averaged first (the sum gives the
  same decisions: it only doubles every distance).

Protocol: threshold chosen on nine folds, accuracy measured on the tenth, mean and standard
deviation (ddof=1) over the ten folds; ROC AUC, EER and TAR at FAR 1e-3 over all pairs.
Images the subject rule refuses are still embedded (most central face) and counted.

Run: ``.venv/bin/python bench/lfw.py [--workers 2] [--calibrate]``; ``--calibrate`` writes the
chosen variant and its threshold into ``weights/dlib_resnet_v1.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from workers.face import FacePipeline, FaceRejected  # noqa: E402
from workers.face.images import decode_rgb  # noqa: E402
from workers.face.subject import CONTENDER_RATIO, centre_offset  # noqa: E402
from workers.face.weights import DEFAULT_METADATA, sha256_of  # noqa: E402

DEFAULT_LFW = REPO_ROOT.parent / "shared" / "data" / "lfw"
CACHE_DIR = REPO_ROOT / ".effi"
RESULTS_PATH = REPO_ROOT / "bench" / "results" / "lfw.json"
TARGET_FAR = 1e-3
VARIANTS = ("raw", "raw_flip", "l2", "l2_flip")


@dataclass(frozen=True)
class Pair:
    fold: int
    first: str
    second: str
    same: bool


def read_pairs(lfw_dir: Path) -> list[Pair]:
    """View 2 pairs: ten folds of 300 matched then 300 mismatched pairs."""
    lines = (lfw_dir / "pairs.txt").read_text().split("\n")
    folds, per_fold = (int(v) for v in lines[0].split())
    rows = [line.split() for line in lines[1:] if line.strip()]
    if len(rows) != folds * per_fold * 2:
        raise SystemExit(f"pairs.txt has {len(rows)} pairs, expected {folds * per_fold * 2}")

    pairs = []
    for index, row in enumerate(rows):
        fold = index // (2 * per_fold)
        if len(row) == 3:
            name, a, b = row
            pairs.append(Pair(fold, image_path(name, a), image_path(name, b), True))
        else:
            name_a, a, name_b, b = row
            pairs.append(Pair(fold, image_path(name_a, a), image_path(name_b, b), False))

    return pairs


def image_path(name: str, number: str) -> str:
    return f"{name}/{name}_{int(number):04d}.jpg"


_PIPELINE: FacePipeline | None = None


def _start_worker(options: dict[str, Any]) -> None:
    global _PIPELINE
    _PIPELINE = FacePipeline(threads=1, **options)


def _embed_image(job: tuple[str, str]) -> dict[str, Any]:
    """Raw embeddings of one LFW image's chip and mirrored chip, and what the rule said."""
    assert _PIPELINE is not None
    lfw_images, relative = job
    rgb = decode_rgb((Path(lfw_images) / relative).read_bytes())
    height, width = rgb.shape[:2]

    faces = _PIPELINE.detector.detect(rgb)
    try:
        face, _ = _PIPELINE.locate(rgb)
        status = "ok"
    except FaceRejected as rejection:
        status = rejection.reason
        if not faces:
            return {"path": relative, "status": status, "faces": 0}
        largest = max(f.side for f in faces)
        contenders = [f for f in faces if f.side >= CONTENDER_RATIO * largest]
        face = min(contenders, key=lambda f: centre_offset(f, width, height))

    chip = _PIPELINE.aligner.chip(rgb, face)
    both = _PIPELINE.raw_embeddings(np.stack([chip, chip[:, ::-1]]))

    return {
        "path": relative,
        "status": status,
        "faces": len(faces),
        "raw": both[0],
        "flip": both[1],
    }


def embed_all(
    lfw_dir: Path, paths: list[str], workers: int, options: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Embed every image once, in ``workers`` single-threaded processes, with a file cache."""
    key_source = json.dumps(
        {
            "options": options,
            "weights": sha256_of(DEFAULT_METADATA.with_suffix(".pt")),
            "code": _code_fingerprint(),
            "images": len(paths),
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:16]
    cache_path = CACHE_DIR / f"lfw_embeddings_{key}.npz"
    if cache_path.exists():
        print(f"using cached embeddings {cache_path.relative_to(REPO_ROOT)}")
        return _load_cache(cache_path)

    started = time.perf_counter()
    jobs = [(str(lfw_dir / "images"), path) for path in paths]
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(options,)) as pool:
        results = {}
        for done, result in enumerate(pool.imap_unordered(_embed_image, jobs, chunksize=16)):
            results[result["path"]] = result
            if (done + 1) % 1000 == 0:
                print(f"  {done + 1}/{len(jobs)} images, {time.perf_counter() - started:.0f} s")
    print(f"embedded {len(jobs)} images in {time.perf_counter() - started:.0f} s")

    CACHE_DIR.mkdir(exist_ok=True)
    _save_cache(cache_path, results)

    return results


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for module in sorted((REPO_ROOT / "workers" / "face").glob("*.py")):
        digest.update(module.read_bytes())

    return digest.hexdigest()


def _save_cache(path: Path, results: dict[str, dict[str, Any]]) -> None:
    names = sorted(results)
    empty = np.full(128, np.nan, dtype=np.float32)
    np.savez_compressed(
        path,
        paths=np.array(names),
        status=np.array([results[n]["status"] for n in names]),
        faces=np.array([results[n]["faces"] for n in names]),
        raw=np.stack([results[n].get("raw", empty) for n in names]),
        flip=np.stack([results[n].get("flip", empty) for n in names]),
    )


def _load_cache(path: Path) -> dict[str, dict[str, Any]]:
    data = np.load(path)
    results = {}
    for index, name in enumerate(data["paths"]):
        results[str(name)] = {
            "status": str(data["status"][index]),
            "faces": int(data["faces"][index]),
            "raw": data["raw"][index],
            "flip": data["flip"][index],
        }

    return results


def variant_vectors(raw: np.ndarray, flip: np.ndarray, variant: str) -> np.ndarray:
    vectors = (raw + flip) / 2 if variant.endswith("_flip") else raw
    if variant.startswith("l2"):
        vectors = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)

    return vectors


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The distance threshold (accept when <=) with the highest accuracy on these pairs."""
    order = np.argsort(distances)
    sorted_d = distances[order]
    sorted_same = same[order]
    accepted_same = np.cumsum(sorted_same)
    accepted_diff = np.cumsum(~sorted_same)
    correct = accepted_same + ((~same).sum() - accepted_diff)
    finite = np.isfinite(sorted_d)
    best = int(np.argmax(np.where(finite, correct, -1)))
    upper = sorted_d[best + 1] if best + 1 < len(sorted_d) else sorted_d[best] + 1e-3

    return float((sorted_d[best] + min(upper, sorted_d[best] + 1.0)) / 2)


def evaluate(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict[str, Any]:
    fold_accuracy = []
    fold_thresholds = []
    for fold in range(int(folds.max()) + 1):
        train = folds != fold
        threshold = best_threshold(distances[train], same[train])
        test = ~train
        fold_accuracy.append(float(((distances[test] <= threshold) == same[test]).mean()))
        fold_thresholds.append(threshold)

    positives = distances[same]
    negatives = distances[~same]
    thresholds = np.unique(np.concatenate([distances[np.isfinite(distances)], [np.inf]]))
    tar = np.searchsorted(np.sort(positives), thresholds, side="right") / len(positives)
    far = np.searchsorted(np.sort(negatives), thresholds, side="right") / len(negatives)

    allowed = far <= TARGET_FAR
    tar_at_far = float(tar[allowed].max()) if allowed.any() else 0.0
    eer_index = int(np.argmin(np.abs((1 - tar) - far)))
    eer = float(((1 - tar[eer_index]) + far[eer_index]) / 2)
    auc = roc_auc(-distances, same)

    return {
        "accuracy_mean": float(np.mean(fold_accuracy)),
        "accuracy_std": float(np.std(fold_accuracy, ddof=1)),
        "fold_accuracy": fold_accuracy,
        "threshold_mean": float(np.mean(fold_thresholds)),
        "fold_thresholds": fold_thresholds,
        "roc_auc": auc,
        "eer": eer,
        "eer_threshold": float(thresholds[eer_index]),
        "tar_at_far_1e-3": tar_at_far,
    }


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a matched pair scores above a mismatched one (ties count half)."""
    scores = np.where(np.isfinite(scores), scores, -1e9)
    ranks = _average_ranks(scores)
    count_pos = int(positive.sum())
    count_neg = len(scores) - count_pos

    rank_sum = ranks[positive].sum() - count_pos * (count_pos + 1) / 2

    return float(rank_sum / (count_pos * count_neg))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1

    return ranks


def main() -> None:
    parser = argparse.ArgumentParser(description="LFW View 2 benchmark of the face pipeline")
    parser.add_argument("--lfw-dir", type=Path, default=os.environ.get("LFW_DIR", DEFAULT_LFW))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--detect-max-side", type=int, default=320)
    parser.add_argument("--detector-threshold", type=float, default=0.8)
    parser.add_argument(
        "--calibrate",
        choices=VARIANTS,
        default=None,
        help="write this variant and its LFW threshold into the weights metadata",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = parser.parse_args()

    if not (args.lfw_dir / "pairs.txt").is_file():
        raise SystemExit(f"LFW not found at {args.lfw_dir}: set LFW_DIR or pass --lfw-dir")

    pairs = read_pairs(args.lfw_dir)
    paths = sorted({p.first for p in pairs} | {p.second for p in pairs})
    options = {
        "detect_max_side": args.detect_max_side,
        "detector_threshold": args.detector_threshold,
    }
    embedded = embed_all(args.lfw_dir, paths, args.workers, options)

    statuses: dict[str, int] = {}
    for item in embedded.values():
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    multi_face = sum(item["faces"] > 1 for item in embedded.values())

    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    report: dict[str, Any] = {
        "pairs": len(pairs),
        "images": len(paths),
        "pipeline": options,
        "subject_rule": statuses,
        "images_with_several_faces": multi_face,
        "variants": {},
    }
    for variant in VARIANTS:
        distances = np.array(
            [pair_distance(embedded[p.first], embedded[p.second], variant) for p in pairs]
        )
        report["variants"][variant] = evaluate(distances, same, folds)
        summary = report["variants"][variant]
        print(
            f"{variant:9s} accuracy {100 * summary['accuracy_mean']:.2f} ± "
            f"{100 * summary['accuracy_std']:.2f} %  AUC {summary['roc_auc']:.4f}  "
            f"EER {100 * summary['eer']:.2f} %  TAR@FAR1e-3 "
            f"{100 * summary['tar_at_far_1e-3']:.1f} %  threshold {summary['threshold_mean']:.3f}"
        )
    print(f"subject rule on LFW images: {statuses}; several faces seen in {multi_face}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(REPO_ROOT)}")

    if args.calibrate:
        calibrate(args.calibrate, report)


def pair_distance(first: dict[str, Any], second: dict[str, Any], variant: str) -> float:
    if (
        "raw" not in first
        or "raw" not in second
        or np.isnan(first["raw"]).any()
        or np.isnan(second["raw"]).any()
    ):
        return float("inf")

    a = variant_vectors(first["raw"], first["flip"], variant)
    b = variant_vectors(second["raw"], second["flip"], variant)

    return float(np.linalg.norm(a - b))


def calibrate(variant: str, report: dict[str, Any]) -> None:
    """Record the variant and its LFW threshold in the weights metadata."""
    summary = report["variants"][variant]
    metadata = json.loads(DEFAULT_METADATA.read_text())
    metadata["metric"] = {
        "distance": "euclidean",
        "embedding": "l2_normalised" if variant.startswith("l2") else "raw",
        "flip_average": variant.endswith("_flip"),
        "threshold": round(summary["threshold_mean"], 4),
        "threshold_source": "LFW View 2: mean of the ten 9-fold accuracy-optimal thresholds",
    }
    metadata["metric_variants"] = {
        name: {
            "threshold": round(result["threshold_mean"], 4),
            "accuracy_mean": round(result["accuracy_mean"], 5),
            "tar_at_far_1e-3": round(result["tar_at_far_1e-3"], 5),
        }
        for name, result in report["variants"].items()
    }
    metadata["calibration"] = {
        "dataset": "LFW deep-funneled, View 2 (6,000 pairs)",
        "variant": variant,
        "accuracy_mean": summary["accuracy_mean"],
        "accuracy_std": summary["accuracy_std"],
        "roc_auc": summary["roc_auc"],
        "eer": summary["eer"],
        "eer_threshold": summary["eer_threshold"],
        "tar_at_far_1e-3": summary["tar_at_far_1e-3"],
        "pipeline": report["pipeline"],
    }
    DEFAULT_METADATA.write_text(json.dumps(metadata, indent=2) + "\n")
    print(
        f"calibrated {DEFAULT_METADATA.relative_to(REPO_ROOT)}: {variant}, "
        f"threshold {metadata['metric']['threshold']}"
    )


if __name__ == "__main__":
    main()

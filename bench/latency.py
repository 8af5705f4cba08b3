"""Per-photo latency, throughput and memory of the face pipeline on a 640x480 photo.

The photo is an LFW face enlarged to 400x400 and set in the middle of a 640x480 frame whose
background is the same photo stretched and blurred, saved as a quality-90 JPEG (a face about
150 px wide, like a webcam selfie). Each measurement covers the whole production path:
decode + detect + align + embed.

- latency: p50 and p95 over ``--runs`` photos in one single-threaded worker process, with
  the median of each stage;
- throughput: photos per second of one and of two single-threaded worker processes, best
  of ``--rounds`` synchronised rounds (the median round is recorded too);
- memory: resident set size (RSS) of a worker process with the models loaded.

Wall-clock figures suffer when other work shares the CPUs; the load average is recorded and
``cpu_p50_ms`` (process CPU time per photo) is given as a contention-free cross-check.

Run: ``.venv/bin/python bench/latency.py``; results go to ``bench/results/latency.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from workers.face import FacePipeline  # noqa: E402
from workers.face.images import decode_rgb  # noqa: E402

DEFAULT_LFW = REPO_ROOT.parent / "shared" / "data" / "lfw"
RESULTS_PATH = REPO_ROOT / "bench" / "results" / "latency.json"
SOURCE_IMAGE = "Aaron_Peirsol/Aaron_Peirsol_0001.jpg"
FRAME = (640, 480)
FACE_SQUARE = 400


def make_photo(lfw_dir: Path) -> bytes:
    """A realistic 640x480 JPEG built from one LFW photo."""
    face = Image.open(lfw_dir / "images" / SOURCE_IMAGE).convert("RGB")
    background = face.resize(FRAME, Image.Resampling.BILINEAR)
    background = background.filter(ImageFilter.GaussianBlur(12))
    enlarged = face.resize((FACE_SQUARE, FACE_SQUARE), Image.Resampling.BICUBIC)
    background.paste(enlarged, ((FRAME[0] - FACE_SQUARE) // 2, (FRAME[1] - FACE_SQUARE) // 2))

    buffer = io.BytesIO()
    background.save(buffer, format="JPEG", quality=90)

    return buffer.getvalue()


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB (Linux /proc)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024

    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


def build_pipeline(flip: bool | None, detect_max_side: int) -> FacePipeline:
    pipeline = FacePipeline(threads=1, detect_max_side=detect_max_side)
    if flip is not None:
        pipeline.card = dataclasses.replace(pipeline.card, flip_average=flip)

    return pipeline


def measure_latency(pipeline: FacePipeline, photo: bytes, runs: int) -> dict[str, Any]:
    for _ in range(10):
        pipeline.embed(photo)

    totals, cpu, decode, detect, align, embed = [], [], [], [], [], []
    for _ in range(runs):
        cpu_start = time.process_time()
        t0 = time.perf_counter()
        rgb = decode_rgb(photo)
        t1 = time.perf_counter()
        face, _ = pipeline.locate(rgb)
        t2 = time.perf_counter()
        chip = pipeline.aligner.chip(rgb, face)
        t3 = time.perf_counter()
        pipeline.embed_chips(chip[None])
        t4 = time.perf_counter()
        cpu.append(time.process_time() - cpu_start)
        totals.append(t4 - t0)
        decode.append(t1 - t0)
        detect.append(t2 - t1)
        align.append(t3 - t2)
        embed.append(t4 - t3)

    def ms(values: list[float], q: float) -> float:
        return round(1000 * float(np.percentile(values, q)), 2)

    return {
        "p50_ms": ms(totals, 50),
        "p95_ms": ms(totals, 95),
        "cpu_p50_ms": ms(cpu, 50),
        "stage_p50_ms": {
            "decode": ms(decode, 50),
            "detect_and_choose": ms(detect, 50),
            "landmarks_and_chip": ms(align, 50),
            "embed": ms(embed, 50),
        },
    }


def _throughput_worker(
    flip: bool | None,
    detect_max_side: int,
    photo: bytes,
    seconds: float,
    rounds: int,
    barrier: Any,
    results: Any,
) -> None:
    pipeline = build_pipeline(flip, detect_max_side)
    for _ in range(10):
        pipeline.embed(photo)

    rates = []
    for _ in range(rounds):
        barrier.wait()
        started = time.perf_counter()
        count = 0
        while time.perf_counter() - started < seconds:
            pipeline.embed(photo)
            count += 1
        rates.append(count / (time.perf_counter() - started))

    rss_now, rss_peak = rss_mb()
    results.put({"rates": rates, "rss_mb": rss_now, "rss_peak_mb": rss_peak})


def measure_throughput(
    processes: int,
    flip: bool | None,
    detect_max_side: int,
    photo: bytes,
    seconds: float,
    rounds: int,
) -> dict[str, Any]:
    """Photos per second of ``processes`` single-threaded workers running side by side.

    The workers run ``rounds`` synchronised rounds; the best round is the figure least
    disturbed by other work on the machine, the median is given beside it.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=_throughput_worker,
            args=(flip, detect_max_side, photo, seconds, rounds, barrier, results),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=rounds * seconds + 300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    per_round = [sum(r["rates"][index] for r in reports) for index in range(rounds)]

    return {
        "processes": processes,
        "photos_per_second": round(max(per_round), 1),
        "photos_per_second_median_round": round(float(np.median(per_round)), 1),
        "rounds": [round(rate, 1) for rate in per_round],
        "worker_rss_mb": [round(r["rss_mb"]) for r in reports],
        "worker_rss_peak_mb": [round(r["rss_peak_mb"]) for r in reports],
    }


def run_configuration(
    flip: bool | None,
    detect_max_side: int,
    photo: bytes,
    runs: int,
    seconds: float,
    rounds: int,
) -> dict[str, Any]:
    pipeline = build_pipeline(flip, detect_max_side)
    rss_loaded, _ = rss_mb()
    latency = measure_latency(pipeline, photo, runs)
    rss_after, rss_peak = rss_mb()
    del pipeline

    return {
        "flip_average": flip,
        "detect_max_side": detect_max_side,
        "latency_single_thread": latency,
        "rss_mb_models_loaded": round(rss_loaded),
        "rss_mb_after_runs": round(rss_after),
        "rss_peak_mb": round(rss_peak),
        "throughput": [
            measure_throughput(count, flip, detect_max_side, photo, seconds, rounds)
            for count in (1, 2)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Latency and throughput of the face pipeline")
    parser.add_argument("--lfw-dir", type=Path, default=os.environ.get("LFW_DIR", DEFAULT_LFW))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--detect-max-side", type=int, default=320)
    parser.add_argument("--flip", choices=("metadata", "on", "off", "both"), default="both")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = parser.parse_args()

    photo = make_photo(args.lfw_dir)
    print(f"load average before: {os.getloadavg()} (other work on the machine skews timings)")
    flips = {"metadata": [None], "on": [True], "off": [False], "both": [False, True]}[args.flip]

    configurations = []
    for flip in flips:
        result = run_configuration(
            flip, args.detect_max_side, photo, args.runs, args.seconds, args.rounds
        )
        configurations.append(result)
        latency = result["latency_single_thread"]
        rates = ", ".join(
            f"{t['processes']} proc {t['photos_per_second']}/s" for t in result["throughput"]
        )
        print(
            f"flip={flip}: p50 {latency['p50_ms']} ms, p95 {latency['p95_ms']} ms "
            f"{latency['stage_p50_ms']}; {rates}; RSS {result['rss_mb_after_runs']} MB"
        )

    report = {
        "load_average_after": os.getloadavg(),
        "photo": {"size": list(FRAME), "source": SOURCE_IMAGE, "jpeg_bytes": len(photo)},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "configurations": configurations,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()

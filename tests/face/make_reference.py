"""Write ``tests/face/reference_embeddings.json``: pinned embeddings of a few LFW photos.

The reference test compares the pipeline's output on the same photos with these vectors
within 1e-4. Regenerate only on purpose (new weights, a new metric variant or a deliberate
change of preprocessing), and say why in the commit:

    .venv/bin/python tests/face/make_reference.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from workers.face import FacePipeline  # noqa: E402

REFERENCE_PATH = Path(__file__).with_name("reference_embeddings.json")
PHOTOS = (
    "Aaron_Peirsol/Aaron_Peirsol_0001.jpg",
    "Colin_Powell/Colin_Powell_0001.jpg",
    "Serena_Williams/Serena_Williams_0001.jpg",
    "George_W_Bush/George_W_Bush_0001.jpg",
)


def main() -> None:
    lfw_dir = Path(os.environ.get("LFW_DIR", REPO_ROOT.parent / "shared" / "data" / "lfw"))
    if not (lfw_dir / "images").is_dir():
        raise SystemExit(f"LFW not found at {lfw_dir}: set LFW_DIR to the LFW root")

    pipeline = FacePipeline(threads=1)
    entries = []
    for relative in PHOTOS:
        result = pipeline.embed((lfw_dir / "images" / relative).read_bytes())
        entries.append(
            {
                "lfw_path": relative,
                "box": [result.box.left, result.box.top, result.box.right, result.box.bottom],
                "vector": [round(float(v), 7) for v in result.vector],
            }
        )

    card = pipeline.card
    reference = {
        "weights_sha256": card.state_dict_sha256,
        "l2_normalised": card.l2_normalised,
        "flip_average": card.flip_average,
        "tolerance": 1e-4,
        "photos": entries,
    }
    REFERENCE_PATH.write_text(compact_json(reference))
    print(f"wrote {REFERENCE_PATH.relative_to(REPO_ROOT)} ({len(entries)} photos)")


def compact_json(reference: dict[str, object]) -> str:
    """Pretty at the top level, one line per photo: easy to read in a diff."""
    photos = reference["photos"]
    assert isinstance(photos, list)
    header = {key: value for key, value in reference.items() if key != "photos"}
    lines = [json.dumps(header, indent=1)[:-2] + ","]
    lines.append(' "photos": [')
    lines.append(",\n".join("  " + json.dumps(photo) for photo in photos))
    lines.append(" ]\n}\n")

    return "\n".join(lines)


if __name__ == "__main__":
    main()

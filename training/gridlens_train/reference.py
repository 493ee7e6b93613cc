"""The PyTorch side of the Node/PyTorch parity test (src/model/parity.test.ts), for every kind: a few
validation images of ../shared/data (named by tar and member, never copied) scored with the
service's preprocessing, written to test/fixtures/parity/ beside the sha256 of the graph they are for."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from . import augment, data


def add_arguments(p, kind, count: int, run_help: str | None = None) -> None:
    """The flags every kind's parity step takes: the run, its checkpoint, the shipped model folder, how many references."""
    p.add_argument("--run", required=True, help=run_help)
    p.add_argument("--checkpoint", default=kind.checkpoint, help="the checkpoint file in --run")
    p.add_argument("--model", default=f"models/{kind.model}")
    p.add_argument("--count", type=int, default=count)


def load(args) -> tuple[Path, dict, dict]:
    """(project root, the shipped model.json, the run's checkpoint) for a parity step."""
    root = data.project_root()
    manifest = json.loads((root / args.model / "model.json").read_text())
    state = torch.load(Path(args.run) / args.checkpoint, map_location="cpu")
    return root, manifest, state


def normalise(x: torch.Tensor, mean, std) -> torch.Tensor:
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def picture_references(graph: nn.Module, model_dir: Path, count: int, size: int, mean, std) -> list[dict]:
    """Square scores (16 rows x classes) of the first `count` challenges of model_dir/grid4-validation.txt,
    each picture decoded, resized whole (bilinear, half-pixel) and normalised as the service does."""
    files = (model_dir / "grid4-validation.txt").read_text().split()[:count]
    refs = []
    tar_path = data.shared_data() / "grid4-v1" / "grid4-train.tar"
    with tarfile.open(tar_path) as tar:
        for f in files:
            img = np.asarray(Image.open(io.BytesIO(tar.extractfile(f).read())).convert("RGB"))
            x = normalise(augment.to_float(torch.from_numpy(data.resize_like_service(img, size)[None].copy())), mean, std)
            with torch.no_grad():
                scores = graph(x)[0]  # 16 x C
            refs.append({"tar": tar_path.name, "file": f, "scores": [[round(float(v), 6) for v in row] for row in scores]})
    return refs


def write_reference(file_name: str, manifest: dict, classes: list[str], key: str, refs: list[dict]) -> Path:
    """test/fixtures/parity/<file_name>: the references under `key` ("images", "pictures"), for the graph of `manifest`."""
    out = data.project_root() / "test" / "fixtures" / "parity"
    out.mkdir(parents=True, exist_ok=True)
    path = out / file_name
    path.write_text(json.dumps({"modelSha256": manifest["sha256"], "classes": classes, key: refs}, indent=1) + "\n")
    return path

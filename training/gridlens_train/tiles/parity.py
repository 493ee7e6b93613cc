"""Write the PyTorch side of the Node/PyTorch parity test (src/model/parity.test.ts) for a tile model.

  /usr/bin/python3 training/parity.py --run training/runs/tiles-sigmoid --model models/gridlens-tiles

Picks a few 100x100 validation tiles of ../shared/data/tiles-v1 (named by tar and member, not
copied: data stays in ../shared) and records in test/fixtures/parity/reference.json the scores
PyTorch gives them, with the same preprocessing the service applies (decode, bilinear
half-pixel resize to the input size, normalise). The Node test runs the same files through
sharp + src/imaging/sample-tiles.ts + onnxruntime-node and compares.
"""
import io
import tarfile

import numpy as np
import torch
from PIL import Image

from .. import augment, data
from ..calibration import apply_platt
from ..model import build_model
from .. import reference
from ..reference import write_reference
from . import train


def add_arguments(p, kind) -> None:
    reference.add_arguments(p, kind, 12)


def run(args, p) -> None:
    root, manifest, state = reference.load(args)
    # the arithmetic of the shipped graph: fused hard-swish where clean_export.py wrote it so
    fuse = bool(manifest.get("export", {}).get("fused", False))
    net = build_model(state["arch"], len(state["classes"]), fuse=fuse)
    missing, unexpected = net.load_state_dict(state["model"], strict=not fuse)
    if missing or unexpected:
        raise SystemExit(f"checkpoint does not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    net.eval()
    train._NORM.update(mean=state["mean"], std=state["std"])
    calib = manifest.get("metrics", {}).get("calibration")
    val = set((root / args.model / "validation.txt").read_text().split())
    rows = [r for r in data.read_manifest(data.shared_data() / "tiles-v1" / "manifest.csv")
            if r["file"] in val and r["width"] == "100"]
    by_class = {}
    for r in rows:
        by_class.setdefault(r["class"], []).append(r)
    picked = [rs[0] for rs in by_class.values()][: args.count]
    refs = []
    for r in picked:
        with tarfile.open(data.shared_data() / "tiles-v1" / r["tar"]) as tar:
            raw = tar.extractfile(r["file"]).read()
        img = data.resize_like_service(np.asarray(Image.open(io.BytesIO(raw)).convert("RGB")), state["size"])
        x = train.normalise(augment.to_float(torch.from_numpy(img[None].copy())))
        with torch.no_grad():
            logits = net(x)
        scores = torch.sigmoid(logits) if state["head"] == "sigmoid" else torch.softmax(logits, 1)
        if calib:  # the exported graph ends in the per-class Platt map (export.py)
            a = np.array([calib["a"][c] for c in state["classes"]], np.float32)
            b = np.array([calib["b"][c] for c in state["classes"]], np.float32)
            scores = torch.from_numpy(apply_platt(scores.numpy(), a, b))
        refs.append({"tar": r["tar"], "file": r["file"], "class": r["class"], "scores": [round(float(v), 6) for v in scores[0]]})
    out = write_reference("reference.json", manifest, state["classes"], "images", refs).parent
    print(f"wrote {len(refs)} parity images to {out}")

#!/usr/bin/env python3
"""Export a tile model again as a clean graph (issue 17, step 1), with the same weights and the same
calibration: hard-swish and hard-sigmoid as single HardSwish / HardSigmoid ops (opset 14) instead of
TF's Add/Clip/Div/Mul, and constant padding that onnxruntime folds into each convolution instead of
a Shape/Gather/Concat chain per strided convolution. Batch norm is already folded (TF froze it).

  /usr/bin/python3 training/onnx_to_checkpoint.py models/gridlens-tiles --out training/runs/shipped-tiles
  /usr/bin/python3 training/clean_export.py models/gridlens-tiles --checkpoint training/runs/shipped-tiles/last.pt \\
      --out training/runs/clean-tiles [--no-fuse]

The scores move by up to ~1e-3 with fusing (the exact 1/6 replaces TF's float16 0.16662598);
the largest difference on --check tiles is printed (PyTorch, old arithmetic against new).
Writes <out>/model.onnx and <out>/model.json (new sha256, version + "-clean", an "export" entry).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import augment, data  # noqa: E402
from gridlens_train.calibration import Calibrated  # noqa: E402
from gridlens_train.model import WithActivation, build_model  # noqa: E402
from onnx_to_checkpoint import onnx_calibration, sample_tiles  # noqa: E402


def scorer(state: dict, fuse: bool, cal) -> torch.nn.Module:
    net = build_model(state["arch"], len(state["classes"]), fuse=fuse)
    missing, unexpected = net.load_state_dict(state["model"], strict=False)
    if missing or unexpected:
        raise SystemExit(f"checkpoint does not fit the {'fused ' if fuse else ''}model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    s: torch.nn.Module = WithActivation(net, state["head"])
    return (Calibrated(s, *cal) if cal is not None else s).eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="the shipped tile model folder (its manifest and calibration are kept)")
    p.add_argument("--checkpoint", type=Path, required=True, help="its weights as a checkpoint (onnx_to_checkpoint.py, or the run's own)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-fuse", action="store_true", help="keep TF's spelled-out hard-swish (only the padding changes)")
    p.add_argument("--check", type=int, default=64, help="tiles to compare old and new arithmetic on")
    args = p.parse_args()
    manifest = json.loads((args.model / "model.json").read_text())
    state = torch.load(args.checkpoint, map_location="cpu")
    if state["classes"] != manifest["classes"]:
        raise SystemExit(f"{args.checkpoint} has other classes than {args.model}")
    cal = onnx_calibration(args.model / manifest["file"])
    fuse = not args.no_fuse
    new, old = scorer(state, fuse, cal), scorer(state, False, cal)
    size, mean, std = manifest["input"]["size"], manifest["input"]["mean"], manifest["input"]["std"]
    root = data.shared_data() / "tiles-v1"
    x = sample_tiles(root, data.read_manifest(root / "manifest.csv"), args.check, size)
    x = (augment.to_float(x) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        diff = float((new(x) - old(x)).abs().max())
    print(f"largest score change over {len(x)} tiles: {diff:.2e}")
    args.out.mkdir(parents=True, exist_ok=True)
    for f in args.model.iterdir():
        if f.is_file() and f.name not in ("model.json", manifest["file"]):
            shutil.copy(f, args.out / f.name)
    onnx_path = args.out / "model.onnx"
    torch.onnx.export(new, x[:1], str(onnx_path), input_names=[manifest["input"]["name"]], output_names=[manifest["output"]["name"]],
                      dynamic_axes={manifest["input"]["name"]: {0: "batch"}, manifest["output"]["name"]: {0: "batch"}}, opset_version=14)
    onnx.checker.check_model(onnx.load(str(onnx_path)))
    ops: dict[str, int] = {}
    for n in onnx.load(str(onnx_path)).graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    orig_sha = manifest["sha256"]
    manifest.update(file="model.onnx", sha256=hashlib.sha256(onnx_path.read_bytes()).hexdigest(), version=f"{manifest['version']}-clean")
    manifest["export"] = {"from": orig_sha, "fused": fuse, "staticPadding": True, "maxScoreChange": round(diff, 6),
                          "command": " ".join(["training/clean_export.py"] + sys.argv[1:])}
    (args.out / "model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {onnx_path}: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()

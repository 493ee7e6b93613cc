#!/usr/bin/env python3
"""Turn a shipped tile model (models/NAME: model.onnx + model.json) back into a PyTorch checkpoint
that `train.py --kind grid4-scratch --init` (or any fine-tuning) can start from, when the run that
trained it is gone (training/runs/ is not committed).

The ONNX export folded each BatchNorm into the convolution before it, so the weights come back as
(W, b) per convolution. Each one is loaded as: the convolution gets W, and its BatchNorm is set
so that in eval mode it adds exactly b (weight = sqrt(var + eps), bias = mean + b), with mean and
var the statistics of that convolution's output over real tiles. Eval-mode outputs are therefore
the shipped model's, and training-mode batch statistics start where the data puts them.

  /usr/bin/python3 training/onnx_to_checkpoint.py models/gridlens-tiles --out training/runs/shipped-tiles

Writes <out>/last.pt (+ best.pt, the same file) and <out>/split.json (the model's validation tiles,
from validation.txt, so synthetic 4x4 scenes never use them), and checks the result against the
PyTorch scores recorded in test/fixtures/parity/reference.json.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import augment, data  # noqa: E402
from gridlens_train.calibration import Calibrated  # noqa: E402
from gridlens_train.model import WithActivation, build_model  # noqa: E402


def onnx_calibration(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The Platt map (initializers a and b) that export.py bakes into a calibrated graph, if any."""
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    return (inits["a"].reshape(-1), inits["b"].reshape(-1)) if "a" in inits and "b" in inits else None


def onnx_layers(path: Path) -> list[tuple[str, list[np.ndarray]]]:
    """(op, [weight, bias]) for every Conv and Gemm node, in graph order."""
    g = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    return [(n.op_type, [inits[x] for x in n.input[1:] if x in inits]) for n in g.node if n.op_type in ("Conv", "Gemm")]


def sample_tiles(root: Path, rows: list[dict], n: int, size: int) -> torch.Tensor:
    want = {r["file"] for r in rows[:: max(1, len(rows) // n)][:n]}
    out = []
    for tar_name in sorted({r["tar"] for r in rows}):
        with tarfile.open(root / tar_name) as tar:
            for m in tar:
                if m.name in want:
                    img = np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB"))
                    out.append(data.resize_like_service(img, size))
    return torch.from_numpy(np.stack(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="a shipped tile model folder (model.onnx + model.json)")
    p.add_argument("--out", type=Path, required=True, help="run folder to write last.pt and split.json into")
    p.add_argument("--reference", type=Path, default=None,
                   help="parity reference (training/parity.py's JSON) to compare with; default test/fixtures/parity/reference.json for the shipped model")
    p.add_argument("--tolerance", type=float, default=1e-3,
                   help="largest score difference from the reference allowed (default 1e-3; a wrong layer mapping moves scores by 0.1 "
                        "or more, while the shipped clean export differed by 2.1e-3 on the 2026-12-05 machine and needed --tolerance 0.003)")
    p.add_argument("--stat-tiles", type=int, default=512, help="tiles-v1 tiles for the BatchNorm statistics")
    args = p.parse_args()
    manifest = json.loads((args.model / "model.json").read_text())
    if manifest.get("input", {}).get("unit", "tile") != "tile":
        raise SystemExit(f"{args.model} is a picture model; this rebuilds tile models only")
    train_args = manifest["data"]["trainArgs"]
    classes, size = manifest["classes"], manifest["input"]["size"]
    mean, std = manifest["input"]["mean"], manifest["input"]["std"]
    net = build_model(train_args["arch"], len(classes)).eval()
    head = train_args.get("head", "sigmoid")
    cal = onnx_calibration(args.model / manifest["file"])
    # what the shipped graph computes from the network's logits: its head, then its calibration
    scorer: nn.Module = WithActivation(net, head)
    if cal is not None:
        scorer = Calibrated(scorer, *cal)
    scorer.eval()

    layers = onnx_layers(args.model / manifest["file"])
    mods = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if len(layers) != len(mods):
        raise SystemExit(f"{args.model}: {len(layers)} Conv/Gemm nodes but {len(mods)} layers in {train_args['arch']}")
    # each convolution's BatchNorm, where it has one (Conv2dNormActivation: conv, bn, act)
    bn_after: dict[nn.Module, nn.BatchNorm2d] = {}
    for m in net.modules():
        kids = list(m.children())
        for a, b in zip(kids, kids[1:]):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                bn_after[a] = b
    folded: dict[nn.Module, torch.Tensor] = {}
    with torch.no_grad():
        for (op, params), mod in zip(layers, mods):
            w = torch.from_numpy(params[0].copy())
            if w.shape != mod.weight.shape:
                raise SystemExit(f"shape mismatch: ONNX {op} {tuple(w.shape)} vs {mod} {tuple(mod.weight.shape)}")
            mod.weight.copy_(w)
            b = torch.from_numpy(params[1].copy()) if len(params) > 1 else torch.zeros(w.shape[0])
            if mod in bn_after:
                folded[mod] = b
                bn = bn_after[mod]
                bn.running_mean.zero_()
                bn.running_var.fill_(1 - bn.eps)
                bn.weight.fill_(1)
                bn.bias.copy_(b)
            else:
                mod.bias.copy_(b)

    # statistics of each folded convolution's raw output over real tiles
    root = data.shared_data() / "tiles-v1"
    x = sample_tiles(root, data.read_manifest(root / "manifest.csv"), args.stat_tiles, size)
    x = (augment.to_float(x) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [m.register_forward_hook(lambda mod, _i, out: stats.__setitem__(mod, (out.mean((0, 2, 3)), out.var((0, 2, 3)))))
             for m in folded]
    with torch.no_grad():
        before = scorer(x)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        for mod, b in folded.items():
            mu, var = stats[mod]
            bn = bn_after[mod]
            bn.running_mean.copy_(mu)
            bn.running_var.copy_(var)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(mu + b)
        after = scorer(x)
    drift = float((after - before).abs().max())
    print(f"loaded {len(mods)} layers ({len(folded)} with folded BatchNorm); statistics from {len(x)} tiles; "
          f"eval-mode change after setting them: {drift:.2e}")
    if drift > 1e-4:
        raise SystemExit("setting the BatchNorm statistics changed the eval-mode scores: the layer mapping is wrong")

    ref_path = args.reference or data.project_root() / "test" / "fixtures" / "parity" / "reference.json"
    if ref_path.exists() and (args.reference or args.model.resolve() == (data.project_root() / "models" / "gridlens-tiles").resolve()):
        ref = json.loads(ref_path.read_text())
        if ref.get("modelSha256") == manifest["sha256"]:
            check_reference(scorer, ref, size, mean, std, args.tolerance)

    args.out.mkdir(parents=True, exist_ok=True)
    state = {"model": net.state_dict(), "classes": classes, "size": size, "mean": mean, "std": std,
             "arch": train_args["arch"], "head": head, "epoch": None,
             "args": train_args, "from_onnx": str(args.model), "version": manifest["version"]}
    torch.save(state, args.out / "last.pt")
    torch.save(state, args.out / "best.pt")
    val = [l.strip() for l in (args.model / "validation.txt").read_text().splitlines() if l.strip()] if (args.model / "validation.txt").exists() else []
    (args.out / "split.json").write_text(json.dumps({"val_files": val}))
    print(f"wrote {args.out / 'last.pt'} and {args.out / 'split.json'} ({len(val)} validation tiles)")


def check_reference(scorer: nn.Module, ref: dict, size: int, mean, std, tolerance: float) -> None:
    """Scores of the recorded parity tiles, against what the original checkpoint gave them."""
    worst = 0.0
    root = data.shared_data() / "tiles-v1"
    for item in ref["images"]:
        with tarfile.open(root / item["tar"]) as tar:
            img = np.asarray(Image.open(io.BytesIO(tar.extractfile(item["file"]).read())).convert("RGB"))
        x = augment.to_float(torch.from_numpy(data.resize_like_service(img, size))[None])
        x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
        with torch.no_grad():
            got = scorer(x)[0].numpy()
        worst = max(worst, float(np.abs(got - np.array(item["scores"])).max()))
    print(f"parity tiles: largest score difference from the original checkpoint {worst:.2e} over {len(ref['images'])} tiles")
    if worst > tolerance:
        raise SystemExit(f"the rebuilt checkpoint does not reproduce the shipped model (difference {worst:.2e} > --tolerance {tolerance:g})")


if __name__ == "__main__":
    main()

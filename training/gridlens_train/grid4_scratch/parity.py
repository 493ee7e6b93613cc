"""Write the PyTorch side of the Node/PyTorch parity test for a grid4-scratch model (src/model/parity.test.ts).

  /usr/bin/python3 training/parity.py --kind grid4-scratch --run training/runs/grid4-a --checkpoint last.pt --model models/gridlens-grid4

Records in test/fixtures/parity/grid4-reference.json the square scores PyTorch gives a few
validation challenges of ../shared/data/grid4-v1 (named, not copied), with the service's
preprocessing (decode, bilinear half-pixel resize of the whole picture, normalise).
"""
import json
from pathlib import Path

import torch

from .. import data
from ..model import build_model
from ..reference import picture_references, write_reference
from .train import Grid4Export, Grid4Net


def add_arguments(p, kind) -> None:
    p.add_argument("--run", required=True, help="a train.py --kind grid4-scratch run folder")
    p.add_argument("--checkpoint", default=kind.checkpoint)
    p.add_argument("--model", default=f"models/{kind.model}")
    p.add_argument("--count", type=int, default=4)


def run(args, p) -> None:
    root = data.project_root()
    manifest = json.loads((root / args.model / "model.json").read_text())
    state = torch.load(Path(args.run) / args.checkpoint, map_location="cpu")
    net = Grid4Net(build_model(state["arch"], len(state["classes"])))
    net.load_state_dict(state["model"])
    graph = Grid4Export(net).eval()
    refs = picture_references(graph, root / args.model, args.count, state["size"], state["mean"], state["std"])
    out = write_reference("grid4-reference.json", manifest, state["classes"], "pictures", refs)
    print(f"wrote {len(refs)} parity pictures to {out}")

"""Export a grid4-scratch 4x4 picture model (training/train.py --kind grid4-scratch) for the service.

  /usr/bin/python3 training/export.py --kind grid4-scratch --run training/runs/grid4-a

Writes models/<name>/model.onnx (the whole picture in, batch x 16 squares x classes of
probabilities out), model.json (input.unit "picture", the thresholds fitted on the held-out
training challenges, the questions answered on 4x4) and the challenge lists of the split
(grid4-train.txt, grid4-fit.txt, grid4-validation.txt). Measure it through the service with
`npx gridlens eval --grid4 ../shared/data/grid4-v1 --only models/<name>/grid4-validation.txt`.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import data
from ..classes import QUESTION_IDS
from ..manifest import checkpoint_version, export_onnx, write_manifest
from ..model import build_model
from .train import GRID4_CLASSES, Grid4Export, Grid4Net


def add_arguments(p, kind) -> None:
    p.add_argument("--run", required=True, help="a train.py --kind grid4-scratch run folder")
    p.add_argument("--checkpoint", default=kind.checkpoint, help="best.pt: the step that did best on the held-out training challenges")
    p.add_argument("--name", default=kind.model)
    p.add_argument("--out", default=None, help="default: models/<name>")


def run(args, p) -> None:
    run_dir = Path(args.run)
    state = torch.load(run_dir / args.checkpoint, map_location="cpu")
    classes, size = state["classes"], state["size"]
    net = Grid4Net(build_model(state["arch"], len(classes)))
    net.load_state_dict(state["model"])
    net.eval()
    out = Path(args.out or data.project_root() / "models" / args.name)
    out.mkdir(parents=True, exist_ok=True)
    export_onnx(Grid4Export(net), size, out / "model.onnx")

    fitted = state["thresholds"]
    answered = [c for c in GRID4_CLASSES if c in classes]
    write_manifest(out, name=args.name, version=checkpoint_version(run_dir / args.checkpoint), size=size,
                   mean=state["mean"], std=state["std"], activation="sigmoid", classes=classes, unit="picture",
                   questions={c: QUESTION_IDS[c] for c in answered},
                   thresholds={c: fitted.get(c, fitted["all"]) for c in classes},
                   grids={"4x4": answered},
                   data={"train": "grid4-v1 (grid4-train.txt) + synthetic scenes from the tile model's training tiles"
                                  + (f" + {state['args']['rebuilt']} (rebuilt-train.txt)" if state["args"].get("rebuilt") else ""),
                         "thresholdsFittedOn": "grid4-fit.txt (training challenges held out of training)"
                                               + (" + rebuilt-fit.txt (rebuilt pictures held out of training)" if state["args"].get("rebuilt") else ""),
                         "init": state["init"], "trainArgs": state["args"]},
                   metrics={"validation": {"challenges": len(state["split"]["val"]), "step": state["step"], **state["val"]}})
    lists = [("grid4-train.txt", state["split"]["train"]), ("grid4-fit.txt", state["split"]["fit"]),
             ("grid4-validation.txt", state["split"]["val"]),
             ("rebuilt-train.txt", state["split"].get("rebuilt_train", [])), ("rebuilt-fit.txt", state["split"].get("rebuilt_fit", []))]
    for name, files in lists:
        if files or not name.startswith("rebuilt"):
            (out / name).write_text("\n".join(files) + "\n")
        else:
            (out / name).unlink(missing_ok=True)
    print(f"exported {out}: {len(answered)} classes on 4x4, validation F1 {state['val']['f1']:.3f} at step {state['step']}, "
          f"size {(out / 'model.onnx').stat().st_size / 1e6:.1f} MB")

"""Export a grid4 run (training/train.py --kind grid4) for the service: the frozen detector, the run's
head and its Platt map as one graph.

  /usr/bin/python3 training/export.py --kind grid4 --run training/runs/grid4-coco384 --out /tmp/grid4-coco384-model

Writes model.onnx (the whole picture in, batch x 16 squares x classes of calibrated probabilities
out) and model.json (input.unit "picture", the thresholds fitted on the fitting lists, the run's
validation report). A question is answered on 4x4 when its validation square recall and precision
at its threshold both reach the run's --gate. `train.py --kind grid4 --export DIR` runs this step
at the end of training.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .. import data
from ..classes import QUESTION_IDS
from ..detector4 import COCO_OF, DetectorFeatures, Grid4Detector, Grid4Head
from ..kinds import KINDS
from ..manifest import export_onnx, write_manifest
from . import CLASSES


def export_model(dest: Path, train_args: dict, head: Grid4Head, a, b, thresholds, report: dict, log,
                 name: str = KINDS["grid4"].model) -> None:
    """model.onnx and model.json in dest (relative: to the project root) from a trained head, its
    Platt map (a, b), per-class thresholds and the run's validation report (report.json)."""
    if not dest.is_absolute():
        dest = data.project_root() / dest
    dest.mkdir(parents=True, exist_ok=True)
    size, gate, learned = train_args["size"], train_args["gate"], report["learned"]
    feats = DetectorFeatures([COCO_OF[c] for c in CLASSES if c in COCO_OF], size)
    export_onnx(Grid4Detector(feats, head, torch.from_numpy(a), torch.from_numpy(b)).eval(), size, dest / "model.onnx")
    answered = [c for c in CLASSES if (f := learned["perQuestion"].get(c)) and f["recall"] >= gate and f["precision"] >= gate]
    for c in CLASSES:
        if c not in answered:
            f = learned["perQuestion"].get(c)
            log(f"{c}: not answered on 4x4: validation {f and {k: f[k] for k in ('total', 'precision', 'recall')}} below --gate {gate}")
    write_manifest(dest, name=name, version=f"{time.strftime('%Y-%m-%d')}-coco{size}",
                   size=size, mean=[0.0, 0.0, 0.0], std=[1 / 255.0] * 3, activation="sigmoid", classes=CLASSES,
                   questions={c: QUESTION_IDS[c] if c in answered else [] for c in CLASSES},
                   thresholds=dict(zip(CLASSES, thresholds.tolist())), grids={"4x4": answered},
                   data={"train": "grid4-v1 (asked class scored) + data/grid4-rebuilt (all seven classes scored)" + (", and their mirror images" if train_args["flip"] else ""),
                         "lists": train_args["lists"], "detector": "shared/pretrained/coco-mobilenetv3-centernet (frozen)",
                         "trainArgs": train_args},
                   metrics={"validation": report, "gate": {"squareRecall": gate, "squarePrecision": gate}},
                   unit="picture")
    log(f"exported {dest}: {(dest / 'model.onnx').stat().st_size / 1e6:.1f} MB, answers {', '.join(answered)}")


def add_arguments(p, kind) -> None:
    p.add_argument("--run", required=True, help="a train.py --kind grid4 run folder (head.pt, report.json, args.json)")
    p.add_argument("--checkpoint", default=kind.checkpoint, help="the head file in --run")
    p.add_argument("--name", default=kind.model)
    p.add_argument("--out", default=None, help="model folder to write (default: models/<name>)")


def run(args, p) -> None:
    run_dir = Path(args.run)
    state = torch.load(run_dir / args.checkpoint, map_location="cpu")
    if state["classes"] != CLASSES:
        p.error(f"--run {args.run}: classes {state['classes']}, a grid4 head has {CLASSES}")
    head = Grid4Head(state["classes"], pooled_for_coco=state["pooled_for_coco"])
    head.load_state_dict(state["head"])
    head.eval()
    train_args = json.loads((run_dir / "args.json").read_text())
    report = json.loads((run_dir / "report.json").read_text())
    export_model(Path(args.out or Path("models") / args.name), train_args, head, state["a"], state["b"], state["thresholds"],
                 report, print, name=args.name)

"""Write the PyTorch side of the Node/PyTorch parity test for a grid4 model (src/model/parity.test.ts).

  /usr/bin/python3 training/parity.py --kind grid4 --run training/runs/grid4-coco384

Records in test/fixtures/parity/grid4-reference.json the square scores the PyTorch graph (the
detector, the run's head.pt and its Platt map) gives a few validation challenges of
../shared/data/grid4-v1 (named, not copied), with the service's preprocessing (decode, bilinear
half-pixel resize of the whole picture, normalise as model.json says).
"""

import torch

from ..detector4 import COCO_OF, DetectorFeatures, Grid4Detector, Grid4Head
from .. import reference
from ..reference import picture_references, write_reference


def add_arguments(p, kind) -> None:
    reference.add_arguments(p, kind, 4, 'a train.py --kind grid4 run folder')


def run(args, p) -> None:
    root, manifest, state = reference.load(args)
    head = Grid4Head(state["classes"], pooled_for_coco=state.get("pooled_for_coco", True))
    head.load_state_dict(state["head"])
    feats = DetectorFeatures([COCO_OF[c] for c in state["classes"] if c in COCO_OF], state["size"])
    graph = Grid4Detector(feats, head, torch.from_numpy(state["a"]), torch.from_numpy(state["b"])).eval()
    refs = picture_references(graph, root / args.model, args.count, state["size"], manifest["input"]["mean"], manifest["input"]["std"])
    out = write_reference("grid4-reference.json", manifest, state["classes"], "pictures", refs)
    print(f"wrote {len(refs)} parity pictures to {out}")

"""Write the PyTorch side of the Node/PyTorch parity test for a grid4-scratch model (src/model/parity.test.ts).

  /usr/bin/python3 training/parity.py --kind grid4-scratch --run training/runs/grid4-a --checkpoint last.pt --model models/gridlens-grid4

Records in test/fixtures/parity/grid4-reference.json the square scores PyTorch gives a few
validation challenges of ../shared/data/grid4-v1 (named, not copied), with the service's
preprocessing (decode, bilinear half-pixel resize of the whole picture, normalise).
"""
from ..model import build_model
from .. import reference
from ..reference import picture_references, write_reference
from .train import Grid4Export, Grid4Net


def add_arguments(p, kind) -> None:
    reference.add_arguments(p, kind, 4, 'a train.py --kind grid4-scratch run folder')


def run(args, p) -> None:
    root, manifest, state = reference.load(args)
    net = Grid4Net(build_model(state["arch"], len(state["classes"])))
    net.load_state_dict(state["model"])
    graph = Grid4Export(net).eval()
    refs = picture_references(graph, root / args.model, args.count, state["size"], state["mean"], state["std"])
    out = write_reference("grid4-reference.json", manifest, state["classes"], "pictures", refs)
    print(f"wrote {len(refs)} parity pictures to {out}")

"""The model kinds of the training pipeline, as data.

One entry point per step (training/train.py, export.py, parity.py, model_card.py) serves every kind,
the kind being a flag (`--kind`, default `tiles`), the way torchvision's
references/classification/train.py and timm's train.py serve every model from one script. A kind
names its default model folder and checkpoint, and the package that holds its steps: in
gridlens_train/<package>/<step>.py, `add_arguments(parser, kind)` defines the step's flags for that
kind and `run(args, parser)` runs it. A step's module is imported only once its kind is known, so a
wrong `--kind` is refused before torch loads.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import textwrap
from dataclasses import dataclass

# step -> (entry point, what it does)
STEPS = {
    "train": ("training/train.py", "train a run folder (checkpoints, args.json, train.log)"),
    "export": ("training/export.py", "write a model folder the service loads (model.onnx, model.json, lists)"),
    "parity": ("training/parity.py", "write the PyTorch side of the Node/PyTorch parity test (test/fixtures/parity)"),
    "card": ("training/model_card.py", "write the model folder's MODEL_CARD.md"),
}


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str
    model: str  # models/<model>: the folder export writes and parity and card read, and model.json's name
    checkpoint: str  # the file of a run folder that export and parity read
    package: str  # gridlens_train.<package>.<step> holds the step


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("tiles", "the tile classifier: one photo of a cell in, a score per class (MobileNetV3 from scratch, "
         "or fine-tuned from the COCO backbone with --arch coco); models/gridlens-tiles",
         model="gridlens-tiles", checkpoint="best.pt", package="tiles"),
    Kind("grid4", "the 4x4 picture model: the frozen COCO CenterNet detector with a learned head per square; "
         "models/gridlens-grid4",
         model="gridlens-grid4", checkpoint="head.pt", package="grid4"),
    Kind("grid4-scratch", "the earlier 4x4 picture model: a fully convolutional MobileNetV3-small started from a "
         "tile run (--init); no longer shipped",
         model="gridlens-grid4", checkpoint="best.pt", package="grid4_scratch"),
)}
DEFAULT_KIND = "tiles"


def kinds_help(step: str) -> str:
    """The help's epilog: every kind, and how to see its flags."""
    width = max(len(k) for k in KINDS)
    lines = [f"kinds (--kind, default {DEFAULT_KIND}; `{STEPS[step][0]} --kind KIND --help` lists that kind's flags):"]
    lines += [textwrap.fill(k.summary, 100, initial_indent=f"  {k.name:{width}s}  ", subsequent_indent=" " * (width + 4),
                            break_on_hyphens=False)
              for k in KINDS.values()]
    return "\n".join(lines)


def parser_for(step: str, kind: Kind, description: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=STEPS[step][0], description=description, epilog=kinds_help(step),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", choices=list(KINDS), default=DEFAULT_KIND,
                   help=f"the model kind (listed below); the other flags here are those of --kind {kind.name}")
    return p


def main(step: str, argv: list[str] | None = None) -> None:
    """Run `step` for the kind that argv's --kind names (default tiles)."""
    argv = sys.argv[1:] if argv is None else argv
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--kind", default=DEFAULT_KIND)
    known, _ = pre.parse_known_args(argv)
    kind = KINDS.get(known.kind)
    if kind is None:
        parser_for(step, KINDS[DEFAULT_KIND], None).error(
            f"--kind {known.kind!r}: unknown model kind; the kinds are {', '.join(KINDS)}")
    module = importlib.import_module(f"gridlens_train.{kind.package}.{step}")
    p = parser_for(step, kind, module.__doc__)
    module.add_arguments(p, kind)
    args = p.parse_args(argv)
    del args.kind  # a run's saved arguments (args.json, model.json trainArgs) stay as they were before kinds
    module.run(args, p)

#!/usr/bin/env python3
"""Check the pretrained-weights loader against shared/pretrained/README.md's reference outputs.

  /usr/bin/python3 training/check_pretrained.py [--pretrained DIR] [--grid4 DIR]

Loads the COCO CenterNet detector with gridlens_train/centernet.py, runs the three grid4-v1
pictures the README lists, and prints one JSON object: per picture, the stride-32 feature mean
and the three largest heat-map peaks (COCO class index, value).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import centernet  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pretrained", default=None, help="folder with centernet.json and centernet.bin (default: ../shared/pretrained/coco-mobilenetv3-centernet)")
    p.add_argument("--grid4", default=None, help="folder with grid4-train.tar (default: ../shared/data/grid4-v1)")
    args = p.parse_args()
    rows = centernet.reference_check(Path(args.pretrained) if args.pretrained else None, Path(args.grid4) if args.grid4 else None)
    print(json.dumps({"pictures": rows}))


if __name__ == "__main__":
    main()

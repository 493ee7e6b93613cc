#!/usr/bin/env python3
"""Train a model of any kind (gridlens_train/kinds.py): --kind tiles (the default), grid4 or grid4-scratch.

  /usr/bin/python3 training/train.py --arch coco --size 128 --budget-min 70 --out training/runs/coco128
  /usr/bin/python3 training/train.py --kind grid4 --size 384 --out training/runs/grid4-coco384 --export /tmp/grid4-coco384-model

`--kind KIND --help` lists that kind's flags.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train.kinds import main  # noqa: E402

if __name__ == "__main__":
    main("train")

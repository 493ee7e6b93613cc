#!/usr/bin/env python3
"""Write the PyTorch side of the Node/PyTorch parity test (src/model/parity.test.ts) for a model of any kind.

  /usr/bin/python3 training/parity.py --run training/runs/coco128 --checkpoint last.pt
  /usr/bin/python3 training/parity.py --kind grid4 --run training/runs/grid4-coco384

`--kind KIND --help` lists that kind's flags.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train.kinds import main  # noqa: E402

if __name__ == "__main__":
    main("parity")

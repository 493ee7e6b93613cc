#!/usr/bin/env python3
"""Export a training run of any kind (gridlens_train/kinds.py) to the service's model format.

  /usr/bin/python3 training/export.py --run training/runs/coco128 --checkpoint last.pt --name gridlens-tiles
  /usr/bin/python3 training/export.py --kind grid4 --run training/runs/grid4-coco384 --out /tmp/grid4-coco384-model

`--kind KIND --help` lists that kind's flags.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train.kinds import main  # noqa: E402

if __name__ == "__main__":
    main("export")

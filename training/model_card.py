#!/usr/bin/env python3
"""Write models/<name>/MODEL_CARD.md for a model of any kind from its model.json and `gridlens eval --json` output.

  /usr/bin/python3 training/model_card.py --model models/gridlens-tiles --eval /tmp/eval.json --command "npm run train -- ..."
  /usr/bin/python3 training/model_card.py --kind grid4 --run training/runs/grid4-coco384 --eval /tmp/g4.json

`--kind KIND --help` lists that kind's flags.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train.kinds import main  # noqa: E402

if __name__ == "__main__":
    main("card")

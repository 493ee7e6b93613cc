"""A training run's folder: its arguments saved beside the checkpoints, and a log to console and train.log."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch


def open_run(args) -> tuple[Path, Callable[[str], None]]:
    """Seed torch and numpy, set the thread count, create args.out with args.json; returns (folder, log)."""
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "args.json").write_text(json.dumps(vars(args), indent=2))
    log_file = open(out / "train.log", "a")

    def log(msg: str) -> None:
        print(msg, flush=True)
        log_file.write(msg + "\n")
        log_file.flush()

    return out, log

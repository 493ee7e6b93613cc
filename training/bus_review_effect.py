#!/usr/bin/env python3
"""What the school-bus review of tiles-v1's "bus" tiles (data/labels/reviews/tiles-v1-bus-school.csv) changes
in a tile model's validation figures (issues 14 and 16), without retraining.

Scores the model's validation tiles in PyTorch (the run checkpoint with the shipped calibration, as
clean_export.py does) and reports, at the shipped thresholds:
  * school bus: recall and precision with the data set's truth (a school bus labelled "bus" counts as a
    false positive) and with the reviewed truth (a tile reviewed as showing a school bus is a positive);
  * the bus question: recall with the bus class alone, and with "bus or school bus" (the product would
    answer a bus question when either class passes its threshold), on the reviewed truth.

  /usr/bin/python3 training/bus_review_effect.py models/gridlens-tiles --checkpoint training/runs/shipped-tiles/last.pt
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import augment, data  # noqa: E402
from clean_export import scorer  # noqa: E402
from onnx_to_checkpoint import onnx_calibration  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--review", type=Path, default=data.project_root() / "data" / "labels" / "reviews" / "tiles-v1-bus-school.csv")
    args = p.parse_args()
    manifest = json.loads((args.model / "model.json").read_text())
    classes, thr = manifest["classes"], manifest["thresholds"]
    state = torch.load(args.checkpoint, map_location="cpu")
    net = scorer(state, bool(manifest.get("export", {}).get("fused")), onnx_calibration(args.model / manifest["file"]))
    val = set((args.model / "validation.txt").read_text().split())
    review = {r["file"]: r["final"] for r in csv.DictReader(args.review.open())}
    rows = [r for r in data.training_rows(["data/labels"], 0, 0, log=lambda *a: None) if r["file"] in val]
    size, mean, std = manifest["input"]["size"], manifest["input"]["mean"], manifest["input"]["std"]
    imgs = {r["file"]: data.resize_like_service(img, size) for r, img in data.iter_tar_images(rows, data.shared_data() / "tiles-v1")}
    x = torch.from_numpy(np.stack([imgs[r["file"]] for r in rows]))
    x = (augment.to_float(x) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        s = torch.cat([net(x[i: i + 128]) for i in range(0, len(x), 128)]).numpy()
    sb, bus = classes.index("school_bus"), classes.index("bus")
    fire_sb = s[:, sb] >= thr["school_bus"]
    fire_bus = s[:, bus] >= thr["bus"]
    # training_rows applies data/labels/corrections; split_class keeps the data set's own class
    label = np.array([r.get("split_class", r["class"]) for r in rows])
    verdict = np.array([review.get(r["file"], "") for r in rows])
    reviewed_bus = label == "bus"
    print(f"{len(rows)} validation tiles; {reviewed_bus.sum()} labelled bus, of which reviewed: "
          + ", ".join(f"{v or 'not reviewed'} {int((verdict[reviewed_bus] == v).sum())}" for v in sorted(set(verdict[reviewed_bus]))))

    def pr(fire: np.ndarray, pos: np.ndarray) -> str:
        tp = int((fire & pos).sum())
        return f"recall {tp / max(pos.sum(), 1) * 100:.1f}% ({tp}/{int(pos.sum())}), precision {tp / max(fire.sum(), 1) * 100:.1f}% ({tp}/{int(fire.sum())})"

    school_old = label == "school_bus"
    school_new = school_old | (reviewed_bus & (verdict == "school"))
    # tiles whose truth is unknown after the review (unsure) are left out of the reviewed figures
    known = ~(reviewed_bus & (verdict == "unsure"))
    print(f"school bus, data set truth:   {pr(fire_sb, school_old)}")
    print(f"school bus, reviewed truth:   {pr(fire_sb[known], school_new[known])} (reviewed-unsure tiles left out)")
    bus_any = (label == "bus") | school_old  # a school bus is a bus
    print(f"bus question, bus class only: {pr(fire_bus, bus_any)} (positives: bus and school bus tiles)")
    print(f"bus question, bus or school bus: {pr(fire_bus | fire_sb, bus_any)}")


if __name__ == "__main__":
    main()

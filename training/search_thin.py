#!/usr/bin/env python3
"""Rank the unlabelled pool for the thin classes (issue 16): taxi, school bus, tractor, boat,
parking meter; and for the weak ones of issue 14 (mountain, chimney, bridge), by the tile model alone.

Every image of ../shared/data/unlabeled-v1 (3x3 tiles, loose 4x4 squares, 2024 tiles) is scored
twice:
- by a tile model (a run folder's last.pt, e.g. one rebuilt from the shipped model with
  onnx_to_checkpoint.py): its softmax probability for every class;
- by the COCO CenterNet detector from ../shared/pretrained (no tuning): the heat-map peak of
  car, bus, truck, boat and parking meter, at --det-size px (--no-detector leaves it out: about
  twice as fast, and enough for the classes COCO does not know).

Writes <out>/scores.csv (one row per image: file, width, height, near_cluster, already labelled
class if any, then the scores) and, with --sheets, contact sheets of the top candidates per class
(<out>/sheets/<class>-NN.png, --grid x --grid cells numbered from 0, plus <class>-NN.csv naming each cell's
file) for labelling by eye. Images already in data/labels are left off the sheets.

  /usr/bin/python3 training/search_thin.py --model training/runs/shipped-tiles --out training/runs/search
  /usr/bin/python3 training/search_thin.py --out training/runs/search --sheets 192   (sheets from scores.csv)
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import centernet, data  # noqa: E402
from gridlens_train.model import build_model  # noqa: E402

THIN = ["taxi", "school_bus", "tractor", "boat", "parking_meter"]
WEAK = ["mountain", "chimney", "bridge"]
DETECT = ["car", "bus", "truck", "boat", "parking_meter"]
# how each thin class is ranked: (tile-model class, detector class or None)
RANK = {"taxi": ("taxi", None), "school_bus": ("school_bus", "bus"), "tractor": ("tractor", "truck"),
        "boat": ("boat", "boat"), "parking_meter": ("parking_meter", "parking_meter"),
        "mountain": ("mountain", None), "chimney": ("chimney", None), "bridge": ("bridge", None)}


def labelled() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((data.project_root() / "data" / "labels").glob("*.csv")):
        with path.open() as f:
            for r in csv.DictReader(f):
                out[r["file"]] = r["class"]
    return out


def score(args) -> None:
    torch.set_num_threads(args.threads)
    root = data.shared_data() / "unlabeled-v1"
    rows = data.read_manifest(root / "manifest.csv")
    if args.limit:
        rows = rows[: args.limit]
    want = {r["file"]: r for r in rows}
    state = torch.load(args.model / "last.pt", map_location="cpu")
    classes, size = state["classes"], state["size"]
    mean = torch.tensor(state["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(state["std"]).view(1, 3, 1, 1)
    net = build_model(state["arch"], len(classes))
    net.load_state_dict(state["model"])
    net.eval()
    det = None if args.no_detector else centernet.load(centernet.KEYPOINTS).eval()
    det_idx = [centernet.COCO[c] for c in DETECT]
    done = labelled()
    args.out.mkdir(parents=True, exist_ok=True)
    out = (args.out / "scores.csv").open("w", newline="")
    w = csv.writer(out)
    w.writerow(["file", "width", "height", "near_cluster", "labelled"] + [f"tile_{c}" for c in classes]
               + ([] if det is None else [f"det_{c}" for c in DETECT]))
    t0, n = time.time(), 0
    batch: list[tuple[dict, np.ndarray]] = []

    def flush() -> None:
        nonlocal n
        if not batch:
            return
        x = torch.from_numpy(np.stack([data.resize_like_service(img, size) for _, img in batch]))
        x = (x.permute(0, 3, 1, 2).float() / 255.0 - mean) / std
        with torch.no_grad():
            p = torch.softmax(net(x), 1).numpy()
            if det is None:
                heat = np.zeros((len(batch), 0), np.float32)
            else:
                d = torch.from_numpy(np.stack([np.asarray(Image.fromarray(img).resize((args.det_size, args.det_size), Image.BILINEAR))
                                               for _, img in batch])).permute(0, 3, 1, 2).float()
                heat = det(d)[:, det_idx].amax((2, 3)).numpy()
        for (r, img), pi, hi in zip(batch, p, heat):
            w.writerow([r["file"], img.shape[1], img.shape[0], r["near_cluster"], done.get(r["file"], "")]
                       + [f"{v:.4f}" for v in pi] + [f"{v:.4f}" for v in hi])
        n += len(batch)
        batch.clear()
        if n % (args.batch * 20) == 0:
            print(f"{n}/{len(want)} images, {n / (time.time() - t0):.1f}/s", flush=True)

    for r, img in data.iter_tar_images(rows, root):
        batch.append((r, img))
        if len(batch) == args.batch:
            flush()
    flush()
    out.close()
    print(f"scored {n} images in {time.time() - t0:.0f} s: {args.out / 'scores.csv'}")


def sheets(args) -> None:
    root = data.shared_data() / "unlabeled-v1"
    with (args.out / "scores.csv").open() as f:
        rows = list(csv.DictReader(f))
    sheet_dir = args.out / "sheets"
    sheet_dir.mkdir(parents=True, exist_ok=True)
    picks: dict[str, list[dict]] = {}
    for cls in args.classes:
        tile_c, det_c = RANK[cls]
        pool = [r for r in rows if not r["labelled"]]
        # the union of the two rankings, alternating, so each search engine gets its top share
        by_tile = sorted(pool, key=lambda r: -float(r[f"tile_{tile_c}"]))
        by_det = sorted(pool, key=lambda r: -float(r[f"det_{det_c}"])) if det_c and f"det_{det_c}" in pool[0] else []
        seen, chosen, clusters = set(), [], set()
        for i in range(len(pool)):
            for src in (by_tile, by_det):
                if i < len(src) and src[i]["file"] not in seen and len(chosen) < args.sheets:
                    seen.add(src[i]["file"])
                    chosen.append(src[i])
        picks[cls] = chosen
    files = {r["file"] for c in picks.values() for r in c}
    manifest = {r["file"]: r for r in data.read_manifest(root / "manifest.csv") if r["file"] in files}
    imgs = {r["file"]: Image.fromarray(img) for r, img in data.iter_tar_images(list(manifest.values()), root)}
    g, cell = args.grid, 960 // args.grid
    per = g * g
    for cls, chosen in picks.items():
        for s in range(0, len(chosen), per):
            part = chosen[s: s + per]
            sheet = Image.new("RGB", (g * cell, g * cell), "white")
            draw = ImageDraw.Draw(sheet)
            for i, r in enumerate(part):
                im = imgs[r["file"]].resize((cell - 4, cell - 4), Image.BILINEAR)
                x, y = (i % g) * cell, (i // g) * cell
                sheet.paste(im, (x + 2, y + 2))
                draw.rectangle([x + 2, y + 2, x + 22, y + 14], fill="black")
                draw.text((x + 4, y + 3), str(i), fill="yellow")
            name = f"{cls}-{s // per:02d}"
            sheet.save(sheet_dir / f"{name}.png")
            with (sheet_dir / f"{name}.csv").open("w", newline="") as f:
                cw = csv.writer(f)
                cw.writerow(["cell", "file", "pix_sha1", "tile_score", "det_score"])
                tile_c, det_c = RANK[cls]
                for i, r in enumerate(part):
                    cw.writerow([i, r["file"], manifest[r["file"]]["pix_sha1"], r[f"tile_{tile_c}"], r.get(f"det_{det_c}", "") if det_c else ""])
            print(f"{sheet_dir / name}.png: {len(part)} images")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, help="run folder with last.pt (tile model) to score with")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--det-size", type=int, default=256, help="detector input size (px)")
    p.add_argument("--no-detector", action="store_true", help="score with the tile model only")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="score only the first N images (a quick check)")
    p.add_argument("--sheets", type=int, default=0, help="make contact sheets of the top N candidates per class")
    p.add_argument("--classes", nargs="+", default=THIN, choices=THIN + WEAK)
    p.add_argument("--grid", type=int, default=6, help="cells per side of a contact sheet (the sheet is 960 px wide)")
    args = p.parse_args()
    if args.model:
        score(args)
    if args.sheets:
        sheets(args)
    if not args.model and not args.sheets:
        p.error("give --model (score) and/or --sheets N (contact sheets)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Contact sheets of chosen images of a shared data set, for labelling by eye (two independent passes).

The images come from a CSV with a `file` column (e.g. a review under data/labels/reviews), optionally
only the rows where a column has one value (--where final=unsure). Each sheet holds --grid x --grid cells,
numbered from 0 in reading order, each image scaled up to fill its cell; beside each <name>-NN.png, a
<name>-NN.csv names every cell's file and pix_sha1, so verdicts can be joined back.

  /usr/bin/python3 training/review_sheets.py --data tiles-v1 --files data/labels/reviews/tiles-v1-bus-school.csv \\
      --where final=unsure --grid 4 --out training/runs/bus-unsure --name unsure
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import data  # noqa: E402


def chosen_files(path: Path, where: str | None) -> list[str]:
    key, _, value = where.partition("=") if where else ("", "", "")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    if key and rows and key not in rows[0]:
        raise SystemExit(f"--where {where}: {path} has no column {key!r} (columns: {', '.join(rows[0])})")
    return [r["file"] for r in rows if not key or r[key] == value]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a data set under ../shared/data with manifest.csv (tiles-v1, unlabeled-v1)")
    p.add_argument("--files", type=Path, required=True, help="CSV with a `file` column")
    p.add_argument("--where", help="keep only rows whose COLUMN equals VALUE (COLUMN=VALUE)")
    p.add_argument("--grid", type=int, default=4, help="cells per side (the sheet is 960 px wide; default 4: 240 px cells)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", default="sheet", help="sheet file prefix")
    args = p.parse_args()
    if args.grid < 1:
        p.error("--grid must be at least 1")
    root = data.shared_data() / args.data
    if not (root / "manifest.csv").exists():
        raise SystemExit(f"{root / 'manifest.csv'} not found: --data names a folder of ../shared/data")
    files = chosen_files(args.files, args.where)
    manifest = {r["file"]: r for r in data.read_manifest(root / "manifest.csv")}
    missing = [f for f in files if f not in manifest]
    if missing:
        raise SystemExit(f"{len(missing)} files are not in {args.data}'s manifest, e.g. {missing[0]}")
    imgs = {r["file"]: Image.fromarray(img) for r, img in data.iter_tar_images([manifest[f] for f in files], root)}
    g, cell = args.grid, 960 // args.grid
    args.out.mkdir(parents=True, exist_ok=True)
    for s in range(0, len(files), g * g):
        part = files[s: s + g * g]
        sheet = Image.new("RGB", (g * cell, g * cell), "white")
        draw = ImageDraw.Draw(sheet)
        for i, f in enumerate(part):
            x, y = (i % g) * cell, (i // g) * cell
            sheet.paste(imgs[f].resize((cell - 4, cell - 4), Image.BICUBIC), (x + 2, y + 2))
            draw.rectangle([x + 2, y + 2, x + 22, y + 14], fill="black")
            draw.text((x + 4, y + 3), str(i), fill="yellow")
        name = f"{args.name}-{s // (g * g):02d}"
        sheet.save(args.out / f"{name}.png")
        with (args.out / f"{name}.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["cell", "file", "pix_sha1"])
            w.writerows([i, fn, manifest[fn]["pix_sha1"]] for i, fn in enumerate(part))
        print(f"{args.out / name}.png: {len(part)} images", flush=True)


if __name__ == "__main__":
    main()

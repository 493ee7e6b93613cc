#!/usr/bin/env python3
"""Join two independent labelling passes over contact sheets into a review record and new labels.

Input: the sheets' cell files (<sheets>/<name>-NN.csv: cell, file, pix_sha1, ... as search_thin.py and
review_sheets.py write them), two passes (CSV: sheet, cell, verdict, note; verdicts yes / no / unsure), and,
where exactly one pass said yes, a third look (--third, same columns; without it such cells are listed and
nothing is written).

A cell becomes a label when both passes said yes, or one said yes and the third look said yes.
Writes:
- --review: every cell with both verdicts, the third look, the final label and how it was reached;
- --labels: the yes cells as data/labels rows (pix_sha1, file, class, method), appended to the file if it
  exists, skipping files it already holds.

  /usr/bin/python3 training/merge_verdicts.py --class mountain --sheets training/runs/search-weak/sheets \\
      --pass-a V/mountain_pass_a.csv --pass-b V/mountain_pass_b.csv --third V/mountain_third.csv \\
      --review data/labels/reviews/weak-search-2026-12-05.csv --labels data/labels/unlabeled-v1-weak.csv \\
      --method "search_thin.py candidate, two independent vision-subagent passes"
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

VERDICTS = {"yes", "no", "unsure"}


def read_pass(path: Path) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    with path.open() as f:
        for i, r in enumerate(csv.DictReader(f), start=2):
            v = r["verdict"].strip().lower()
            if v not in VERDICTS:
                raise SystemExit(f"{path}:{i}: verdict {r['verdict']!r} is not one of {', '.join(sorted(VERDICTS))}")
            out[(r["sheet"].strip(), int(r["cell"]))] = v
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--class", dest="cls", required=True, help="the class a yes means (sheets <class>-NN.csv)")
    p.add_argument("--sheets", type=Path, required=True)
    p.add_argument("--pass-a", type=Path, required=True)
    p.add_argument("--pass-b", type=Path, required=True)
    p.add_argument("--third", type=Path, help="the third look where exactly one pass said yes")
    p.add_argument("--review", type=Path, required=True, help="review CSV to append every cell to")
    p.add_argument("--labels", type=Path, required=True, help="labels CSV (data/labels/*.csv) to append the yes cells to")
    p.add_argument("--method", required=True, help="how the labels were made, for the labels' method column")
    args = p.parse_args()
    a, b = read_pass(args.pass_a), read_pass(args.pass_b)
    third = read_pass(args.third) if args.third else {}
    cells = []
    for sheet_csv in sorted(args.sheets.glob(f"{args.cls}-[0-9][0-9].csv")):
        with sheet_csv.open() as f:
            cells += [(sheet_csv.stem, r) for r in csv.DictReader(f)]
    if not cells:
        raise SystemExit(f"no {args.cls}-NN.csv sheets in {args.sheets}")
    missing = [f"{s} cell {r['cell']}" for s, r in cells if (s, int(r["cell"])) not in a or (s, int(r["cell"])) not in b]
    if missing:
        raise SystemExit(f"{len(missing)} cells lack a verdict in one of the passes, e.g. {missing[0]}")
    split = [(s, r) for s, r in cells if (a[(s, int(r["cell"]))] == "yes") != (b[(s, int(r["cell"]))] == "yes")]
    lacking = [f"{s},{r['cell']}" for s, r in split if (s, int(r["cell"])) not in third]
    if lacking:
        raise SystemExit(f"{len(lacking)} cells where exactly one pass said yes need a third look (--third):\n" + "\n".join(lacking))
    review_rows, labels = [], []
    for s, r in cells:
        key = (s, int(r["cell"]))
        va, vb, vt = a[key], b[key], third.get(key, "")
        if va == vb == "yes":
            final, how = "yes", "agreed"
        elif vt:
            final, how = vt, "third look"
        else:
            final, how = ("no" if "no" in (va, vb) else "unsure"), ("agreed" if va == vb else "neither said yes")
        review_rows.append([r["file"], r["pix_sha1"], args.cls, s, r["cell"], r.get("tile_score", ""), va, vb, vt, final, how])
        if final == "yes":
            labels.append((r["pix_sha1"], r["file"], args.cls, f"{args.method} ({s} cell {r['cell']}, tile score {r.get('tile_score', '')}, {how})"))
    new_review = not args.review.exists()
    with args.review.open("a", newline="") as f:
        w = csv.writer(f)
        if new_review:
            w.writerow(["file", "pix_sha1", "class", "sheet", "cell", "tile_score", "pass_a", "pass_b", "third", "label", "how"])
        w.writerows(review_rows)
    have: set[str] = set()
    if args.labels.exists():
        with args.labels.open() as f:
            have = {r["file"] for r in csv.DictReader(f)}
    fresh = [l for l in labels if l[1] not in have]
    new_labels = not args.labels.exists()
    with args.labels.open("a", newline="") as f:
        w = csv.writer(f)
        if new_labels:
            w.writerow(["pix_sha1", "file", "class", "method"])
        w.writerows(fresh)
    agreed = sum(1 for r in review_rows if r[-1] == "agreed" and r[-2] == "yes")
    print(f"{args.cls}: {len(cells)} cells, {len(labels)} labelled yes ({agreed} by both passes, "
          f"{len(split)} split cells given a third look), {len(fresh)} new rows in {args.labels}")


if __name__ == "__main__":
    main()

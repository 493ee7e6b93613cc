#!/usr/bin/env python3
"""Per-class before/after table (markdown) from two `gridlens eval --tiles ... --json` outputs on the same files.

  /usr/bin/python3 training/compare_evals.py --before /tmp/before.json --after /tmp/after.json \\
      --title "Before and after our labels" --note "both models on the tiles neither trained on" > /tmp/compare.md
"""
import argparse
import json
from pathlib import Path


def pct(v):
    return "–" if v is None else f"{100 * v:.1f}%"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--note", default="")
    a = p.parse_args()
    b = json.loads(Path(a.before).read_text())["tiles"]
    n = json.loads(Path(a.after).read_text())["tiles"]
    L = [f"## {a.title}", ""]
    if a.note:
        L += [a.note, ""]
    L += ["| figure | before | after |", "|---|---|---|",
          f"| model | {b['model']} | {n['model']} |",
          f"| tiles | {b['tiles']} | {n['tiles']} |",
          f"| tile top-1 (of tiles whose class the model has) | {pct(b['top1'])} | {pct(n['top1'])} |",
          f"| 1x1 hasObject | {pct(b['oneByOne']['accuracy'])} | {pct(n['oneByOne']['accuracy'])} |",
          f"| synthetic 3x3 exact | {pct(b['synthetic3x3']['exactSolveRate'])} | {pct(n['synthetic3x3']['exactSolveRate'])} |",
          "", "| class | tiles | precision before | precision after | recall before | recall after |", "|---|---|---|---|---|---|"]
    for c in sorted(set(b["perClass"]) | set(n["perClass"])):
        fb, fn = b["perClass"].get(c), n["perClass"].get(c)
        count = (fn or fb)["n"]
        L.append(f"| {c} | {count} | {pct(fb and fb['precision'])} | {pct(fn and fn['precision'])} | "
                 f"{pct(fb and fb['recall']) if fb else 'no class'} | {pct(fn and fn['recall'])} |")
    print("\n".join(L) + "\n")


if __name__ == "__main__":
    main()

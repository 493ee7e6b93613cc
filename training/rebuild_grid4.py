#!/usr/bin/env python3
"""Rebuild whole 4x4 challenge pictures from the loose 95x95 squares of unlabeled-v1.

The 2022 collection in ../shared/data/unlabeled-v1 holds 7,540 squares cut from 4x4 challenges,
under random names and in no order. Neighbouring squares of one picture continue each other
across their shared edge, so the pictures can be put back together like a jigsaw:

1. For every ordered pair (a, b) score "b sits right of a" and "b sits below a": the squared
   difference between b's first column (row) and a's last column (row) extrapolated one pixel
   by its gradient, both ways round (prediction-based compatibility).
2. Keep an edge only where each side is the other's best match (best buddies) and the best
   beats the second best by a margin.
3. Grow each connected set of squares on a grid. A set that fills exactly a 4x4 block, with
   no square placed twice, is a rebuilt picture; a set that fills an 8x4 (or larger, 4-aligned)
   block exactly is several pictures whose outer edges happened to match, cut apart.

Writes <out>/pictures/<id>.jpg (450x450, squares resized back to 112.5 px), and <out>/rebuilt.csv
(id, the 16 square files in order, mean edge score). Pictures that repeat a grid4-v1 challenge
are marked, so they never reach training next to their validation twin.

Usage: rebuild_grid4.py --out DIR [--limit N]     (data/grid4-rebuilt/rebuilt.csv came from this)
       rebuild_grid4.py --selftest 40               (cut, shuffle and rebuild 40 grid4-v1 pictures)
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
import tarfile
import time
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train.data import iter_tar_images, read_manifest, shared_data  # noqa: E402

SIDE = 95


def load_squares(root: Path, limit: int | None, log) -> tuple[list[str], np.ndarray]:
    rows = [r for r in read_manifest(root / "manifest.csv") if r["width"] == str(SIDE) and r["height"] == str(SIDE)]
    rows = rows[:limit] if limit else rows
    index = {r["file"]: i for i, r in enumerate(rows)}
    px = np.zeros((len(rows), SIDE, SIDE, 3), np.uint8)
    seen = 0
    for r, img in iter_tar_images(rows, root):
        px[index[r["file"]]] = img
        seen += 1
    if seen != len(rows):
        raise SystemExit(f"found {seen} of {len(rows)} squares in the tars under {root}")
    log(f"loaded {len(rows)} squares of {SIDE}x{SIDE}")
    return [r["file"] for r in rows], px


def sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise squared distances between rows of a and rows of b, float32, in blocks."""
    out = np.empty((len(a), len(b)), np.float32)
    nb = (b * b).sum(1)
    for s in range(0, len(a), 1024):
        blk = a[s:s + 1024]
        out[s:s + 1024] = (blk * blk).sum(1)[:, None] + nb[None, :] - 2.0 * blk @ b.T
    np.maximum(out, 0, out=out)
    return out


def compat(px: np.ndarray, axis: str) -> np.ndarray:
    """D[a, b]: how badly b continues a to the right (axis 'x') or below (axis 'y'); lower is better."""
    f = px.astype(np.float32)
    if axis == "y":
        f = f.transpose(0, 2, 1, 3)  # rows become columns
    last, before = f[:, :, -1, :], f[:, :, -2, :]
    first, after = f[:, :, 0, :], f[:, :, 1, :]
    n = len(f)
    # a's edge extrapolated onto b's first column, and b's edge extrapolated back onto a's last
    fwd = sq_dist((2 * last - before).reshape(n, -1), first.reshape(n, -1))
    back = sq_dist(last.reshape(n, -1), (2 * first - after).reshape(n, -1))
    d = fwd + back
    np.fill_diagonal(d, np.inf)
    return d


def buddies(d: np.ndarray, margin: float) -> dict[int, int]:
    """a -> b where b is a's best successor, a is b's best predecessor, and both choices are clear."""
    best_b = d.argmin(1)
    best_a = d.argmin(0)
    part = np.partition(d, 1, axis=1)
    part_t = np.partition(d, 1, axis=0)
    out: dict[int, int] = {}
    for a, b in enumerate(best_b):
        if best_a[b] != a:
            continue
        # the runner-up on either side must be worse by the margin factor, or the match is a guess
        if part[a, 1] < margin * d[a, b] or part_t[1, b] < margin * d[a, b]:
            continue
        out[a] = int(b)
    return out


def assemble(n: int, right: dict[int, int], down: dict[int, int]) -> list[dict[tuple[int, int], int]]:
    left = {b: a for a, b in right.items()}
    up = {b: a for a, b in down.items()}
    placed: set[int] = set()
    groups = []
    for start in range(n):
        if start in placed:
            continue
        pos = {start: (0, 0)}
        queue = deque([start])
        ok = True
        while queue:
            a = queue.popleft()
            r, c = pos[a]
            for table, dr, dc in ((right, 0, 1), (left, 0, -1), (down, 1, 0), (up, -1, 0)):
                b = table.get(a)
                if b is None:
                    continue
                want = (r + dr, c + dc)
                if b in pos:
                    ok &= pos[b] == want
                    continue
                pos[b] = want
                queue.append(b)
        placed.update(pos)
        cells = {}
        for a, p in pos.items():
            if p in cells:
                ok = False
            cells[p] = a
        if not ok or len(pos) < 2:
            continue
        r0 = min(r for r, _ in cells)
        c0 = min(c for _, c in cells)
        groups.append({(r - r0, c - c0): a for (r, c), a in cells.items()})
    return groups


def blocks(g: dict[tuple[int, int], int]) -> list[dict[tuple[int, int], int]]:
    """The 4x4 pictures in a group: the group itself, or, where best-buddy edges ran on across the
    border of two pictures (an 8x4 or 4x8 group, say), each 4x4 block of a group that fills a
    4-aligned rectangle exactly."""
    h = 1 + max(r for r, _ in g)
    w = 1 + max(c for _, c in g)
    if h % 4 or w % 4 or len(g) != h * w:
        return []
    return [{(r, c): g[(br + r, bc + c)] for r in range(4) for c in range(4)} for br in range(0, h, 4) for bc in range(0, w, 4)]


def rebuild(px: np.ndarray, margin: float, log) -> list[dict[tuple[int, int], int]]:
    """Squares (N, 95, 95, 3) to complete pictures, each {(row, col): square index}."""
    right = buddies(compat(px, "x"), margin)
    log(f"{len(right)} left-right best-buddy edges")
    down = buddies(compat(px, "y"), margin)
    log(f"{len(down)} top-bottom best-buddy edges")
    groups = assemble(len(px), right, down)
    sizes = np.bincount([len(g) for g in groups]) if groups else np.zeros(1, int)
    log("consistent groups by size: " + ", ".join(f"{k}:{v}" for k, v in enumerate(sizes) if v and k >= 2))
    return [b for g in groups for b in blocks(g)]


def selftest(root: Path, n: int, margin: float, log) -> int:
    """Cut n labelled 4x4 pictures into squares the way the 2022 collection stored them, shuffle,
    rebuild; 0 when no rebuilt picture is wrong and at least 40% come back square for square (a
    picture whose edges are ambiguous, sky or asphalt, is left out rather than guessed)."""
    pics = []
    with tarfile.open(root / "grid4-train.tar") as tar:
        for member in tar:
            if member.isfile() and len(pics) < n:
                pics.append(np.asarray(Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB")))
    squares, truth = [], []
    for p, img in enumerate(pics):
        step = img.shape[0] / 4
        for k in range(16):
            r, c = divmod(k, 4)
            box = (round(c * step), round(r * step), round((c + 1) * step), round((r + 1) * step))
            squares.append(np.asarray(Image.fromarray(img).crop(box).resize((SIDE, SIDE), Image.BILINEAR)))
            truth.append((p, k))
    order = np.random.default_rng(0).permutation(len(squares))
    px = np.stack([squares[i] for i in order])
    found = rebuild(px, margin, log)
    right = 0
    for g in found:
        got = [truth[order[g[divmod(k, 4)]]] for k in range(16)]
        right += len({p for p, _ in got}) == 1 and [k for _, k in got] == list(range(16))
    log(f"selftest: {right} of {len(pics)} pictures rebuilt exactly; {len(found) - right} wrong")
    return 0 if right == len(found) and 5 * right >= 2 * len(pics) else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="folder for rebuilt.csv and pictures/")
    ap.add_argument("--selftest", type=int, default=0, metavar="N",
                    help="instead: cut N grid4-v1 pictures into shuffled 95x95 squares and rebuild them; exit 0 only if none comes back wrong and at least 40% come back")
    ap.add_argument("--data", type=Path, default=shared_data(), help="the shared data folder (default ../shared/data)")
    ap.add_argument("--margin", type=float, default=1.15, help="best edge must beat the second best by this factor (default 1.15)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N squares (for a quick look)")
    args = ap.parse_args()
    t0 = time.time()
    log = lambda m: print(f"[{time.time() - t0:6.1f}s] {m}", flush=True)  # noqa: E731
    if args.selftest:
        raise SystemExit(selftest(args.data / "grid4-v1", args.selftest, args.margin, log))
    if not args.out:
        ap.error("--out is required (or --selftest N)")
    files, px = load_squares(args.data / "unlabeled-v1", args.limit, log)
    full = rebuild(px, args.margin, log)
    log(f"{len(full)} complete 4x4 pictures ({16 * len(full)} of {len(files)} squares)")

    twins = grid4_fingerprints(args.data / "grid4-v1")
    out_pics = args.out / "pictures"
    out_pics.mkdir(parents=True, exist_ok=True)
    with open(args.out / "rebuilt.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "squares", "twin_of", "edge_score"])
        for g in full:
            order = [g[(r, c)] for r in range(4) for c in range(4)]
            canvas = np.zeros((4 * SIDE, 4 * SIDE, 3), np.uint8)
            for k, a in enumerate(order):
                r, c = divmod(k, 4)
                canvas[r * SIDE:(r + 1) * SIDE, c * SIDE:(c + 1) * SIDE] = px[a]
            pic = Image.fromarray(canvas).resize((450, 450), Image.BILINEAR)
            pid = Path(files[order[0]]).stem
            pic.save(out_pics / f"{pid}.jpg", quality=92)
            score = seam_score(canvas)
            twin = match_twin(np.asarray(pic), twins)
            w.writerow([pid, " ".join(files[a] for a in order), twin or "", f"{score:.1f}"])
    log(f"wrote {len(full)} pictures to {out_pics} and {args.out / 'rebuilt.csv'}")


def seam_score(canvas: np.ndarray) -> float:
    """Mean absolute step across the 12 inner seams, per pixel and channel (lower = smoother)."""
    f = canvas.astype(np.float32)
    cuts = [k * SIDE for k in (1, 2, 3)]
    steps = [np.abs(f[:, c] - f[:, c - 1]).mean() for c in cuts] + [np.abs(f[c] - f[c - 1]).mean() for c in cuts]
    return float(np.mean(steps))


LABEL_CLASSES = ("bicycle", "bus", "crosswalk", "hydrant", "motorcycle", "stairs", "traffic_light")


def read_labels(path: Path) -> dict[str, dict[str, list[int]]]:
    """labels.csv (id,class,cells,certainty,note; cells space-separated) as {id: {class: cells}};
    a picture labelled `none` maps to {} (none of the seven 4x4 classes is in it). A row that does
    not parse stops everything: a typo would otherwise train 16 negatives."""
    out: dict[str, dict[str, list[int]]] = {}
    with open(path, newline="") as fh:
        for line, r in enumerate(csv.DictReader(fh), start=2):
            where = f"{path}:{line}"
            if r["class"] not in (*LABEL_CLASSES, "none"):
                raise ValueError(f"{where}: class {r['class']!r}; allowed: {', '.join(LABEL_CLASSES)}, none")
            got = out.setdefault(r["id"], {})
            if r["class"] == "none":
                continue
            try:
                cells = sorted(int(c) for c in r["cells"].split())
            except ValueError:
                raise ValueError(f"{where}: cells {r['cells']!r} must be square numbers 0-15 separated by spaces") from None
            if not cells or cells[0] < 0 or cells[-1] > 15 or len(set(cells)) != len(cells):
                raise ValueError(f"{where}: cells {r['cells']!r} must be distinct square numbers 0-15, at least one")
            if r["class"] in got:
                raise ValueError(f"{where}: a second {r['class']} row for {r['id']}")
            got[r["class"]] = cells
    return out


def load_rebuilt(folder: Path, data_root: Path | None = None, avoid: list[str] | None = None) -> list[tuple[str, np.ndarray, dict[str, list[int]]]]:
    """The labelled rebuilt pictures of folder (rebuilt.csv + labels.csv) as (id, 380x380x3 uint8,
    {class: cells}), put together from the unlabeled-v1 squares; twins of grid4-v1 challenges are
    left out, so none can sit in training beside its validation copy. With avoid (grid4-v1 file
    names, e.g. the validation list), every picture is checked again against those and a twin is
    an error."""
    root = (data_root or shared_data()) / "unlabeled-v1"
    labels = read_labels(folder / "labels.csv")
    with open(folder / "rebuilt.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["twin_of"] and r["id"] in labels]
    want = {f for r in rows for f in r["squares"].split()}
    tars = {m["file"]: m["tar"] for m in read_manifest(root / "manifest.csv") if m["file"] in want}
    px: dict[str, np.ndarray] = {}
    for tar_name in sorted(set(tars.values())):
        with tarfile.open(root / tar_name) as tar:
            for member in tar:
                if member.name in want:
                    px[member.name] = np.asarray(Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB"))
    if len(px) != len(want):
        raise RuntimeError(f"unlabeled-v1 lacks {len(want) - len(px)} squares named in {folder / 'rebuilt.csv'}")
    out = []
    for r in rows:
        canvas = np.zeros((4 * SIDE, 4 * SIDE, 3), np.uint8)
        for k, f in enumerate(r["squares"].split()):
            y, x = divmod(k, 4)
            canvas[y * SIDE:(y + 1) * SIDE, x * SIDE:(x + 1) * SIDE] = px[f]
        out.append((r["id"], canvas, labels[r["id"]]))
    if avoid:
        prints = {k: v for k, v in grid4_fingerprints((data_root or shared_data()) / "grid4-v1").items() if k in set(avoid)}
        for pid, canvas, _ in out:
            twin = match_twin(np.asarray(Image.fromarray(canvas).resize((450, 450), Image.BILINEAR)), prints)
            if twin:
                raise RuntimeError(f"rebuilt picture {pid} looks like grid4-v1 {twin}, which must stay out of training")
    return out


def dhash(img: np.ndarray) -> np.ndarray:
    g = np.asarray(Image.fromarray(img).convert("L").resize((17, 16), Image.BILINEAR), np.int16)
    return (g[:, 1:] > g[:, :-1]).ravel()


def grid4_fingerprints(root: Path) -> dict[str, np.ndarray]:
    out = {}
    for tar_path in sorted(root.glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            for member in tar:
                if member.isfile():
                    img = np.asarray(Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB"))
                    out[Path(member.name).name] = dhash(img)
    return out


def match_twin(img: np.ndarray, twins: dict[str, np.ndarray], max_bits: int = 40) -> str | None:
    h = dhash(img)
    best = min(twins.items(), key=lambda kv: int((kv[1] != h).sum()), default=None)
    if best is None:
        return None
    return best[0] if int((best[1] != h).sum()) <= max_bits else None


if __name__ == "__main__":
    main()

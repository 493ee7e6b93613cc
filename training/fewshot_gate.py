#!/usr/bin/env python3
"""Can a thin class pass issue 16's gate? k-fold cross-validation by near_cluster on frozen COCO
features (issue 16, steps 2-4).

Every labelled tile (tiles-v1 + the label folders, as train.py sees them) is described by the
frozen COCO CenterNet (no fine-tuning, so no tile's own label has touched the features): the
720-channel stride-32 map averaged over the tile, and the detector's heat-map peak per COCO class.
For each class asked, per fold (clusters dealt to --folds folds, class by class, so near-duplicates
never straddle folds; web photos only ever train):
  * a one-vs-rest logistic regression on the features, trained on all but two folds,
  * its threshold fitted on the next fold (the fitting fold: never trained on, never reported),
    the lowest score that keeps precision >= --precision there (else the best-F1 score),
  * scored on the held-out fold.
For COCO-known classes (boat, parking meter, and bus/car/... for comparison) COCO's own heat-map
peak is scored the same way (threshold on the fitting fold), with no training at all.
Pooled over the folds: held-out positives, recall, precision, the false-positive rate on every
other class's held-out tiles, and the gate (recall and precision >= 85%, >= 30 held-out positives).

  /usr/bin/python3 training/fewshot_gate.py [--classes taxi school_bus tractor boat parking_meter] [--json out.json]

Features are cached in .cache/ (keyed by the tile list), so a second run with other classes is quick.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import centernet, data  # noqa: E402

THIN = ["taxi", "school_bus", "tractor", "boat", "parking_meter"]
# the nearest class of each fine-grained pair (issue 16: measure their confusion explicitly)
PAIRS = {"taxi": "car", "school_bus": "bus", "tractor": "car", "boat": "bridge", "parking_meter": "hydrant"}


def features(rows: list[dict], size: int, batch: int, log=print) -> tuple[np.ndarray, np.ndarray]:
    """Per tile: the frozen stride-32 map averaged (720) and the heat-map peak per COCO class. Cached per
    file in .cache/fewshot-features-<size>.npz, so adding labels computes only the new tiles."""
    cache = data.project_root() / ".cache" / f"fewshot-features-{size}.npz"
    known: dict[str, int] = {}
    if cache.exists():
        z = np.load(cache)
        old_files, old_feat, old_peak = list(z["files"]), z["feat"], z["peak"]
        known = {f: i for i, f in enumerate(old_files)}
    missing = [r for r in rows if r["file"] not in known]
    if missing:
        log(f"  computing features of {len(missing)} tiles ({len(rows) - len(missing)} cached)")
        tiles = data.load_images(data.shared_data() / "tiles-v1", missing, size, "fewshot-tiles", log=log)
        net = centernet.load([centernet.STRIDE32, centernet.KEYPOINTS], fuse=True).eval()
        coco = list(centernet.COCO.values())
        feat = np.zeros((len(missing), 720), np.float32)
        peak = np.zeros((len(missing), len(coco)), np.float32)
        t0 = time.time()
        with torch.no_grad():
            for s in range(0, len(missing), batch):
                x = torch.from_numpy(tiles.x_eval[s: s + batch]).permute(0, 3, 1, 2).float()  # RGB 0-255
                f, k = net(x)
                feat[s: s + len(x)] = f.mean((2, 3)).numpy()
                peak[s: s + len(x)] = k[:, coco].amax((2, 3)).numpy()
                if (s // batch) % 20 == 0:
                    log(f"  features {s + len(x)}/{len(missing)} ({(s + len(x)) / (time.time() - t0):.0f} tiles/s)")
        files = [r["file"] for r in missing]
        if known:
            files, feat, peak = old_files + files, np.concatenate([old_feat, feat]), np.concatenate([old_peak, peak])
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, files=np.array(files), feat=feat, peak=peak)
        known = {f: i for i, f in enumerate(files)}
        all_feat, all_peak = feat, peak
    else:
        all_feat, all_peak = old_feat, old_peak
    idx = np.array([known[r["file"]] for r in rows])
    return all_feat[idx], all_peak[idx]


def folds_by_cluster(rows: list[dict], k: int, seed: int) -> np.ndarray:
    """Fold of each row (-1: web photo, training only). Clusters are dealt round-robin within their
    class after a seeded shuffle, so every fold gets its share of each class. A corrected tile is
    dealt by its original class (split_class), so corrections do not move the folds."""
    clusters: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        clusters[r["near_cluster"]].append(i)
    by_class: dict[str, list[str]] = defaultdict(list)
    for cid, members in clusters.items():
        first = rows[members[0]]
        by_class[first.get("split_class", first["class"])].append(cid)
    fold = np.full(len(rows), -1)
    for cls in sorted(by_class):
        cids = sorted(by_class[cls])
        rng = random.Random(f"{seed}:{cls}")  # per class, as split_by_cluster: a new class never reshuffles another
        rng.shuffle(cids)
        start = rng.randrange(k)  # so a class with fewer clusters than folds does not always fill fold 0
        for j, cid in enumerate(cids):
            for i in clusters[cid]:
                fold[i] = -1 if rows[i]["kind"] == "web_photo" else (start + j) % k
    return fold


def logistic(x: np.ndarray, y: np.ndarray, wd: float, steps: int = 200) -> tuple[np.ndarray, float]:
    """Class-balanced L2 logistic regression (LBFGS); returns weights and bias."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))
    pos = max(float(yt.sum()), 1.0)
    weight = torch.where(yt > 0, 0.5 / pos, 0.5 / max(len(yt) - pos, 1.0))
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        z = xt @ w + b
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(z, yt, reduction="none") * weight).sum() + wd * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), float(b.detach())


def pick_threshold(score: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The lowest threshold keeping precision >= `precision` on these tiles, else the best-F1 one."""
    order = np.argsort(-score)
    s, t = score[order], y[order].astype(bool)
    tp = np.cumsum(t)
    prec = tp / np.arange(1, len(t) + 1)
    rec = tp / max(t.sum(), 1)
    ok = np.where(prec >= precision)[0]
    ok = ok[t[ok]]  # cut right after a positive
    if len(ok):
        return float(s[ok[-1]])
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-9)
    return float(s[int(np.argmax(f1))])


def evaluate(scores_for, y_all: np.ndarray, fold: np.ndarray, k: int, precision: float) -> tuple[np.ndarray, np.ndarray]:
    """Held-out decision and score per tile (tiles of no fold: False / nan)."""
    decision = np.zeros(len(y_all), bool)
    held_score = np.full(len(y_all), np.nan, np.float32)
    for test in range(k):
        fit = (test + 1) % k
        train = (fold != test) & (fold != fit)
        score = scores_for(train)
        thr = pick_threshold(score[fold == fit], y_all[fold == fit], precision)
        m = fold == test
        decision[m] = score[m] >= thr
        held_score[m] = score[m]
    return decision, held_score


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--classes", nargs="+", default=THIN)
    p.add_argument("--labels", action="append", help="label folders, as train.py --labels (default data/labels)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--size", type=int, default=160, help="tile size the frozen network sees (px)")
    p.add_argument("--wd", type=float, default=1e-2, help="L2 weight of the logistic regression")
    p.add_argument("--precision", type=float, default=0.9, help="precision aimed at on the fitting fold")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, help="write the figures here too")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    rows = [r for r in data.training_rows(args.labels, 0, args.seed) if r["kind"] in ("recaptcha_tile", "web_photo")]
    classes = sorted({r["class"] for r in rows})
    unknown = [c for c in args.classes if c not in classes]
    if unknown:
        raise SystemExit(f"--classes: {', '.join(unknown)} not among the labelled classes ({', '.join(classes)})")
    feat, peak = features(rows, args.size, args.batch)
    mu, sd = feat.mean(0), feat.std(0) + 1e-6
    x = ((feat - mu) / sd).astype(np.float32)
    label = np.array([r["class"] for r in rows])
    fold = folds_by_cluster(rows, args.folds, args.seed)
    held = fold >= 0
    coco_names = list(centernet.COCO)
    print(f"{len(rows)} labelled tiles ({held.sum()} in {args.folds} folds by near_cluster), {args.size} px frozen COCO features ({time.time() - t0:.0f} s)")
    results = {}
    for cls in args.classes:
        y = label == cls

        def probe(train: np.ndarray, y: np.ndarray = y) -> np.ndarray:
            w, b = logistic(x[train], y[train], args.wd)
            return 1 / (1 + np.exp(-(x @ w + b)))

        methods = {"probe": probe}
        if cls in centernet.COCO:
            j = coco_names.index(cls)
            methods["coco"] = lambda train, j=j: peak[:, j]  # COCO's own channel: nothing to train
        for name, fn in methods.items():
            dec, _ = evaluate(fn, y, fold, args.folds, args.precision)
            pos = int((y & held).sum())
            tp = int((dec & y & held).sum())
            fp = int((dec & ~y & held).sum())
            rec, prec = tp / max(pos, 1), tp / max(tp + fp, 1)
            fpr = {}
            for other in classes:
                if other == cls:
                    continue
                m = (label == other) & held
                if m.sum():
                    fpr[other] = round(float(dec[m].mean()), 4)
            worst = sorted(fpr.items(), key=lambda kv: -kv[1])[:3]
            gate = pos >= 30 and rec >= 0.85 and prec >= 0.85
            results[f"{cls}/{name}"] = {"class": cls, "method": name, "heldOutPositives": pos, "recall": round(rec, 4),
                                        "precision": round(prec, 4), "falsePositiveRate": fpr, "gate": gate}
            pair = PAIRS.get(cls)
            pair_txt = f", fires on {fpr.get(pair, 0) * 100:.1f}% of {pair}" if pair in fpr else ""
            print(f"{cls:14s} {name:5s}: {pos:4d} held-out positives, recall {rec * 100:5.1f}%, precision {prec * 100:5.1f}%{pair_txt}; "
                  f"worst FP rates {', '.join(f'{c} {v * 100:.1f}%' for c, v in worst)}; gate {'PASS' if gate else 'fail'}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"tiles": len(rows), "folds": args.folds, "size": args.size, "results": results}, indent=1) + "\n")
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

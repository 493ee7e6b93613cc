"""Train the 4x4 model on the COCO CenterNet detector (gridlens_train/detector4.py), and with --export export it.

  /usr/bin/python3 training/train.py --kind grid4 --size 512 --out training/runs/grid4-coco512 [--export models/gridlens-grid4]

Steps, with progress on stderr:
  1. every labelled 4x4 picture (grid4-v1, data/grid4-rebuilt) through the frozen detector once,
     resized as the service resizes it; the per-square features are cached in .cache/;
  2. the head trained on the training lists' squares (grid4-v1: the asked class scored;
     rebuilt pictures: all their classes scored, a class not listed = 16 negative squares);
  3. per-class Platt calibration and thresholds (maximising square F1) fitted on the fitting lists,
     never trained on;
  4. validation (grid4-v1's validation list, never trained or fitted on) scored once: square
     precision, recall, F1 and exact set per question, for the learned head and for the zero-shot
     rule (peak >= 0.15, box overlapping the square by more than 6 px at 512 px);
  5. with --export: the export step (training/export.py --kind grid4) on the trained head: model.onnx
     (input.unit "picture") and model.json; a question is answered on 4x4 when its validation
     square recall and precision at its threshold both reach --gate.
The run folder keeps head.pt (head, Platt map, thresholds), report.json and args.json, which the
export, parity and card steps read.
The splits are the shipped 4x4 model's lists (models/gridlens-grid4/*.txt), so figures compare.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from rebuild_grid4 import load_rebuilt  # training/rebuild_grid4.py (the entry points put training/ on sys.path)

from .. import data
from ..calibration import apply_platt, fit_platt
from ..detector4 import COCO_OF, DetectorFeatures, Grid4Head, zero_shot
from ..run import open_run
from . import CLASSES, LISTS
from .export import export_model


def add_arguments(p, kind) -> None:
    p.add_argument("--size", type=int, default=512, help="picture side fed to the detector (a multiple of 128: 384 or 512)")
    p.add_argument("--lists", default=LISTS, help="folder with grid4-train/fit/validation.txt and rebuilt-train/fit.txt")
    p.add_argument("--rebuilt", default="data/grid4-rebuilt")
    p.add_argument("--epochs", type=int, default=400, help="full-batch steps over the cached features")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--pos-weight", type=float, default=2.0)
    p.add_argument("--gate", type=float, default=0.75, help="validation square recall and precision a question needs to be answered")
    p.add_argument("--pooled-for-coco", action="store_true",
                   help="also score the classes COCO knows with the pooled-feature classifier (default: their detector channel alone)")
    p.add_argument("--flip", action="store_true", help="also train on mirror images (one more detector pass per training picture)")
    p.add_argument("--limit", type=int, default=0, help="use at most this many pictures per list (CI's tiny run)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export", default="", help="model folder to write after training (model.onnx, model.json): "
                   "the export step, as training/export.py --kind grid4 --run OUT --out DIR")
    p.add_argument("--out", required=True, help="run folder (head.pt, report.json, args.json, train.log)")


def check(p, a) -> None:
    if a.size % 128:
        p.error(f"--size must be a multiple of 128 (each square is a whole block of the stride-32 map), got {a.size}")


def read_list(path: Path, limit: int) -> list[str]:
    names = [l.strip() for l in path.read_text().splitlines() if l.strip()]
    return names[:limit] if limit else names


def grid4_pictures(files: list[str]) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    root = data.shared_data() / "grid4-v1"
    with open(root / "labels.csv", newline="") as f:
        labels = {r["file"]: r for r in csv.DictReader(f)}
    want, images = set(files), {}
    for tar_path in sorted(root.glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            for m in tar:
                if m.isfile() and m.name in want:
                    images[m.name] = np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB"))
    missing = [f for f in files if f not in images]
    if missing:
        raise RuntimeError(f"grid4-v1 lacks {len(missing)} listed challenges, e.g. {missing[:3]}")
    return images, labels


def items_for(args, log):
    """Every picture as (key, image, target [C,16], mask [C,16], split) with split train/fit/val."""
    lists = data.project_root() / args.lists
    g = {s: read_list(lists / f"grid4-{s}.txt", args.limit) for s in ("train", "fit", "validation")}
    images, labels = grid4_pictures([f for fs in g.values() for f in fs])
    items = []
    for split, files in g.items():
        for f in files:
            cls = labels[f]["question"]
            t, m = np.zeros((len(CLASSES), 16), np.float32), np.zeros((len(CLASSES), 16), np.float32)
            if cls in CLASSES:
                k = CLASSES.index(cls)
                m[k] = 1
                for c in filter(None, labels[f]["cells"].replace(" ", ",").split(",")):
                    t[k, int(c)] = 1
            items.append(("g:" + f, images[f], t, m, "val" if split == "validation" else split, cls))
    if args.rebuilt:
        r_lists = {s: set(read_list(lists / f"rebuilt-{s}.txt", 0)) for s in ("train", "fit")}
        rebuilt = load_rebuilt(data.project_root() / args.rebuilt, avoid=g["validation"])
        if args.limit:
            rebuilt = rebuilt[:args.limit]
        for pid, canvas, cells_by in rebuilt:
            split = "fit" if pid in r_lists["fit"] else "train"
            t, m = np.zeros((len(CLASSES), 16), np.float32), np.ones((len(CLASSES), 16), np.float32)
            for cls, cells in cells_by.items():
                if cls in CLASSES:
                    for c in cells:
                        t[CLASSES.index(cls), int(c)] = 1
            items.append(("r:" + pid, canvas, t, m, split, None))
    log(f"pictures: " + ", ".join(f"{s} {sum(1 for it in items if it[4] == s)}" for s in ("train", "fit", "val")))
    return items


@torch.no_grad()
def detector_features(items, size: int, log, flip: bool = False):
    """Cached per-square features of every picture (and, with flip, of its mirror image for training)."""
    key = hashlib.sha1(("|".join(it[0] for it in items) + f"/{size}/v2/{int(flip)}").encode()).hexdigest()[:12]
    cache = data.project_root() / ".cache" / f"grid4-coco-{size}-{key}.pt"
    if cache.exists():
        return torch.load(cache)
    feats = DetectorFeatures([COCO_OF[c] for c in CLASSES if c in COCO_OF], size).eval()
    # mirror images ("_f") only with flip, and only for training pictures (run() indexes them by the training rows)
    suffixes = ("", "_f") if flip else ("",)
    out = {k + s: [] for s in suffixes for k in ("pooled", "touch", "inside")}
    t0 = time.time()
    for n, it in enumerate(items):
        x = torch.from_numpy(data.resize_like_service(it[1], size)).permute(2, 0, 1)[None].float()
        for suffix in suffixes:
            if suffix and it[4] != "train":
                continue
            p, t, i = feats(x.flip(-1) if suffix else x)
            out["pooled" + suffix].append(p[0])
            out["touch" + suffix].append(t[0])
            out["inside" + suffix].append(i[0])
        if (n + 1) % 25 == 0 or n + 1 == len(items):
            log(f"  detector features {n + 1}/{len(items)}  {(time.time() - t0) / (n + 1):.2f}s/picture")
    res = {k: torch.stack(v) for k, v in out.items()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(res, cache)
    return res


def mirror(t: np.ndarray) -> np.ndarray:
    """Square labels of the mirror image: column c -> 3 - c."""
    return t.reshape(*t.shape[:-1], 4, 4)[..., ::-1].reshape(t.shape).copy()


def square_figures(probs: np.ndarray, target: np.ndarray, mask: np.ndarray, thresholds: np.ndarray, asked: list[int]) -> dict:
    """Per asked class: square precision/recall/F1 and exact set over pictures where it is scored."""
    per, tot = {}, {"tp": 0, "fp": 0, "fn": 0, "exact": 0, "total": 0}
    for n, k in enumerate(asked):
        if k < 0:
            continue
        got = probs[n, k] >= thresholds[k]
        want = target[n, k] > 0.5
        c = per.setdefault(CLASSES[k], {"tp": 0, "fp": 0, "fn": 0, "exact": 0, "total": 0})
        for acc in (c, tot):
            acc["tp"] += int((got & want).sum())
            acc["fp"] += int((got & ~want).sum())
            acc["fn"] += int((~got & want).sum())
            acc["exact"] += int((got == want).all())
            acc["total"] += 1

    def fin(c):
        p = c["tp"] / max(1, c["tp"] + c["fp"])
        r = c["tp"] / max(1, c["tp"] + c["fn"])
        return {**c, "precision": round(p, 4), "recall": round(r, 4),
                "f1": round(2 * c["tp"] / max(1, 2 * c["tp"] + c["fp"] + c["fn"]), 4),
                "exactSet": round(c["exact"] / max(1, c["total"]), 4)}
    return {"all": fin(tot), "perQuestion": {k: fin(v) for k, v in sorted(per.items())}}


def best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    best_t, best = 0.5, -1.0
    for t in np.linspace(0.05, 0.95, 91):
        got = scores >= t
        f1 = 2 * (got & truth).sum() / max(1, 2 * (got & truth).sum() + (got & ~truth).sum() + (~got & truth).sum())
        if f1 > best + 1e-9:
            best_t, best = float(t), float(f1)
    return best_t


def run(args, p) -> None:
    check(p, args)
    out, log = open_run(args)
    items = items_for(args, log)
    feats = detector_features(items, args.size, log, args.flip)
    split = np.array([it[4] for it in items])
    target = np.stack([it[2] for it in items])
    mask = np.stack([it[3] for it in items])
    tr = np.where(split == "train")[0]
    # training set: each training picture and its mirror image
    if args.flip:  # the "_f" rows are the training pictures' mirrors, in item order
        P = torch.cat([feats["pooled"][tr], feats["pooled_f"]])
        T = torch.cat([feats["touch"][tr], feats["touch_f"]])
        I = torch.cat([feats["inside"][tr], feats["inside_f"]])
        Y = torch.from_numpy(np.concatenate([target[tr], mirror(target[tr])]))
        M = torch.from_numpy(np.concatenate([mask[tr], mirror(mask[tr])]))
    else:
        P, T, I = feats["pooled"][tr], feats["touch"][tr], feats["inside"][tr]
        Y, M = torch.from_numpy(target[tr]), torch.from_numpy(mask[tr])
    head = Grid4Head(CLASSES, pooled_for_coco=args.pooled_for_coco)
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.wd)
    pos_w = torch.tensor(args.pos_weight)
    for step in range(args.epochs):
        head.train()
        logits = head(P, T, I)
        loss = (F.binary_cross_entropy_with_logits(logits, Y, reduction="none", pos_weight=pos_w) * M).sum() / M.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 100 == 0 or step == 0:
            log(f"step {step + 1:4d}/{args.epochs}  loss {float(loss):.4f}")
    head.eval()
    with torch.no_grad():
        raw = torch.sigmoid(head(feats["pooled"], feats["touch"], feats["inside"])).numpy()  # N, C, 16
    fit, val = np.where(split == "fit")[0], np.where(split == "val")[0]

    def flat(idx):  # [N*16, C] views for calibration
        return (raw[idx].transpose(0, 2, 1).reshape(-1, len(CLASSES)), target[idx].transpose(0, 2, 1).reshape(-1, len(CLASSES)) > 0.5,
                mask[idx].transpose(0, 2, 1).reshape(-1, len(CLASSES)))
    s_fit, y_fit, m_fit = flat(fit)
    a, b = fit_platt(s_fit, y_fit, mask=m_fit)
    cal = apply_platt(raw.transpose(0, 2, 1).reshape(-1, len(CLASSES)), a, b).reshape(len(items), 16, len(CLASSES)).transpose(0, 2, 1)
    c_fit = cal[fit].transpose(0, 2, 1).reshape(-1, len(CLASSES))
    thresholds = np.array([best_threshold(c_fit[m_fit[:, k] > 0, k], y_fit[m_fit[:, k] > 0, k]) if (y_fit[m_fit[:, k] > 0, k]).sum() >= 4 else 0.5
                           for k in range(len(CLASSES))])
    log("thresholds (fitting split): " + ", ".join(f"{c} {t:.2f}" for c, t in zip(CLASSES, thresholds)))

    # validation, scored once: the learned head and the zero-shot rule on the same grid4-v1 challenges
    asked = [CLASSES.index(items[i][5]) if items[i][5] in CLASSES else -1 for i in val]
    learned = square_figures(cal[val], target[val], mask[val], thresholds, asked)
    half = square_figures(cal[val], target[val], mask[val], np.full(len(CLASSES), 0.5), asked)
    zs = np.zeros_like(cal[val])
    slots = [k for k, c in enumerate(CLASSES) if c in COCO_OF]
    zs[:, slots] = zero_shot(feats["touch"][val]).float().numpy()
    coco_asked = [k if k in slots else -1 for k in asked]
    baseline = square_figures(zs, target[val], mask[val], np.full(len(CLASSES), 0.5), coco_asked)
    learned_coco = square_figures(cal[val], target[val], mask[val], thresholds, coco_asked)
    unanswerable = sum(1 for k in asked if k < 0)
    log(f"validation ({len(val)} challenges, {unanswerable} of a class the model lacks): learned head at fitted thresholds: "
        f"F1 {learned['all']['f1']:.3f} exact set {learned['all']['exactSet']:.3f}; at 0.5: F1 {half['all']['f1']:.3f} exact {half['all']['exactSet']:.3f}")
    log(f"  on the challenges of classes COCO knows: learned F1 {learned_coco['all']['f1']:.3f} exact {learned_coco['all']['exactSet']:.3f}; "
        f"zero-shot rule F1 {baseline['all']['f1']:.3f} exact {baseline['all']['exactSet']:.3f}")
    for q, f in learned["perQuestion"].items():
        log(f"  {q:14s} {f['total']:3d}  P {f['precision']:.3f} R {f['recall']:.3f} F1 {f['f1']:.3f} exact {f['exact']}/{f['total']}")
    report = {"size": args.size, "learned": learned, "learnedAt05": half, "learnedOnCocoClasses": learned_coco,
              "zeroShot": baseline, "thresholds": dict(zip(CLASSES, thresholds.round(3).tolist())),
              "calibration": {"a": dict(zip(CLASSES, a.round(4).tolist())), "b": dict(zip(CLASSES, b.round(4).tolist()))}}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    torch.save({"head": head.state_dict(), "pooled_for_coco": args.pooled_for_coco, "a": a, "b": b, "thresholds": thresholds, "size": args.size, "classes": CLASSES}, out / "head.pt")
    if args.export:
        export_model(Path(args.export), vars(args), head, a, b, thresholds, report, log)

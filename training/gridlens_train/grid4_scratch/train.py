"""Train the grid4-scratch 4x4 model: a whole 450x450 challenge picture in, a score per square and class out.

A fully convolutional MobileNetV3-small. Its stride-32 feature map (8x8 at 256 px) goes through the
tile model's classifier applied as 1x1 convolutions, and is max-pooled onto the 4x4 grid: a square
scores high when any part of it shows the object, and every square is seen with the picture's
context. The backbone and head start from one of our trained tile models (--init), never from
downloaded weights. Supervision per step:
  * synthetic scenes: a training tile upscaled as the background, one or two labelled training
    tiles pasted at random size and place; a square is positive for a pasted class when the visible
    part of the pasted tile's inner 70% (not hidden by a later paste) covers at least --cover of
    it, unscored when only the tile's outer ring does (the object may or may not reach there),
    negative otherwise (the background's own class is left unscored);
  * the grid4-v1 challenges of --train-list but for every --hold-out'th one of each class: the asked
    class's 16 square labels (other classes unscored);
  * with --rebuilt: pictures rebuilt from unlabeled-v1's loose squares (training/rebuild_grid4.py)
    and labelled for all seven 4x4 classes, so every 4x4 class is scored on each (absent = all 16
    negative); every --rebuilt-hold-out'th picture is held out with the challenges, as one
    challenge per class it shows.
The held-out training challenges fit the score thresholds (one for all classes, and one per class
where it has at least 4 of them). Validation: the grid4-v1 challenges of --val-list, never trained
on or fitted to: square-level F1 and exact sets at those thresholds.

  /usr/bin/python3 training/train.py --kind grid4-scratch --init training/runs/NAME/last.pt --budget-min 40 --out training/runs/grid4-a
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import tarfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from rebuild_grid4 import load_rebuilt  # training/rebuild_grid4.py (the entry points put training/ on sys.path)
from torch import nn

from .. import augment, data
from ..model import build_model
from ..reference import normalise
from ..run import open_run

GRID4_CLASSES = ("bicycle", "bus", "crosswalk", "hydrant", "motorcycle", "stairs", "traffic_light")
# A tile of the key class also shows the value classes (a school bus is a bus, and the 4x4 labels
# count it as one): where such a tile is in a synthetic scene, those classes are left unscored.
IMPLIES = {"school_bus": ("bus",)}


class Grid4Net(nn.Module):
    """MobileNetV3 features, the tile classifier as 1x1 convolutions, max-pooled onto 4x4."""

    def __init__(self, tile_net: nn.Module):
        super().__init__()
        self.features = tile_net.features
        lin1, act, drop, lin2 = tile_net.classifier  # Linear, Hardswish, Dropout, Linear
        self.head = nn.Sequential(nn.Conv2d(lin1.in_features, lin1.out_features, 1), act, nn.Dropout2d(drop.p),
                                  nn.Conv2d(lin2.in_features, lin2.out_features, 1))
        with torch.no_grad():
            self.head[0].weight.copy_(lin1.weight[:, :, None, None])
            self.head[0].bias.copy_(lin1.bias)
            self.head[3].weight.copy_(lin2.weight[:, :, None, None])
            self.head[3].bias.copy_(lin2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_max_pool2d(self.head(self.features(x)), 4)  # B, C, 4, 4 logits


class Grid4Export(nn.Module):
    """The exported graph: probabilities, one row per square (row-major cells 0..15), one column per class."""

    def __init__(self, net: Grid4Net):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x)).permute(0, 2, 3, 1).flatten(1, 2)


def add_arguments(p, kind) -> None:
    p.add_argument("--init", required=True, help="tile model checkpoint (training/runs/NAME/last.pt) to start from")
    p.add_argument("--size", type=int, default=256, help="picture side fed to the model (a multiple of 128)")
    p.add_argument("--budget-min", type=float, default=40.0, help="wall-clock training budget; the cosine schedule follows it")
    p.add_argument("--batch", type=int, default=24, help="synthetic scenes per step")
    p.add_argument("--real", type=int, default=8, help="labelled grid4-v1 challenges per step")
    p.add_argument("--rebuilt", default="", help="folder with rebuilt.csv + labels.csv of rebuilt, labelled 4x4 pictures (e.g. data/grid4-rebuilt)")
    p.add_argument("--rebuilt-per-step", type=int, default=8, help="rebuilt pictures per step (with --rebuilt)")
    p.add_argument("--rebuilt-hold-out", type=int, default=5, help="every Nth rebuilt picture is held out to fit thresholds and pick best.pt")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--cover", type=float, default=0.08, help="fraction of a square the pasted object must cover to count")
    p.add_argument("--pos-weight", type=float, default=3.0, help="weight of a positive square in the loss (positives are rare)")
    p.add_argument("--hold-out", type=int, default=3, help="every Nth training challenge of each class is kept out of training to fit the thresholds")
    p.add_argument("--train-list", default="models/gridlens-tiles/grid4-calibration.txt")
    p.add_argument("--val-list", default="models/gridlens-tiles/grid4-validation.txt")
    p.add_argument("--eval-every", type=int, default=150, help="steps between validation lines")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: the budget decides; CI's tiny run)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)


def check(p, a) -> None:
    if a.rebuilt_hold_out < 2:
        p.error(f"--rebuilt-hold-out must be at least 2 (every Nth picture is held out), got {a.rebuilt_hold_out}")
    if a.size % 128:
        p.error(f"--size must be a multiple of 128 (the stride-32 map is pooled onto 4x4), got {a.size}")


def load_grid4(files: list[str], size: int, classes: list[str]) -> tuple[list[str], np.ndarray, list[tuple[int, list[int]]]]:
    """grid4-v1 pictures whose class the model has, resized to size x size exactly as the service
    does, with (class index, cells); returns the files kept too."""
    root = data.shared_data() / "grid4-v1"
    with open(root / "labels.csv", newline="") as f:
        labels = {r["file"]: r for r in csv.DictReader(f)}
    images = {}
    for tar_path in sorted(root.glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            for m in tar:
                if m.isfile() and m.name in files:
                    images[m.name] = np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB"))
    missing = [f for f in files if f not in images or f not in labels]
    if missing:
        raise RuntimeError(f"grid4-v1 lacks {len(missing)} listed challenges, e.g. {missing[:3]}")
    files = [f for f in files if labels[f]["question"] in classes]  # a class the tile model lacks cannot be learnt here
    x = np.stack([data.resize_like_service(images[f], size) for f in files])
    y = [(classes.index(labels[f]["question"]), [int(c) for c in labels[f]["cells"].split(",") if c.strip()]) for f in files]
    return files, x, y


def synthetic(x_src: torch.Tensor, y_cls: np.ndarray, by_class: dict[int, np.ndarray], paste_classes: list[int],
              n_classes: int, n: int, size: int, cover: float, rng: np.random.Generator, implied: dict[int, list[int]] | None = None):
    """n synthetic 4x4 scenes: images (n,3,size,size) in [0,1], targets and masks (n,C,4,4)."""
    imgs = torch.empty(n, 3, size, size)
    target = torch.zeros(n, n_classes, 4, 4)
    mask = torch.ones(n, n_classes, 4, 4)
    for b in range(n):
        bg = int(rng.integers(len(x_src)))
        imgs[b] = F.interpolate(augment.to_float(x_src[bg:bg + 1]), size=(size, size), mode="bilinear", align_corners=False)[0]
        mask[b, y_cls[bg]] = 0  # the background's class is somewhere in it, but where is unknown
        # which pasted tile is on top where, at 1/4 resolution: its object (inner 70%) or its border ring
        owner = torch.full((size // 4, size // 4), -1)
        ring = torch.full((size // 4, size // 4), -1)
        pasted = set()
        for _ in range(1 if rng.random() < 0.6 else 2):
            c = int(rng.choice(paste_classes))
            if c == y_cls[bg]:
                continue
            t = int(rng.choice(by_class[c]))
            side = int(rng.integers(int(0.3 * size), int(0.85 * size) + 1))
            x0, y0 = int(rng.integers(0, size - side + 1)), int(rng.integers(0, size - side + 1))
            imgs[b, :, y0:y0 + side, x0:x0 + side] = F.interpolate(
                augment.to_float(x_src[t:t + 1]), size=(side, side), mode="bilinear", align_corners=False)[0]
            q = lambda v: int(round(v / 4))  # noqa: E731
            owner[q(y0):q(y0 + side), q(x0):q(x0 + side)] = -1  # a later paste hides what it covers
            ring[q(y0):q(y0 + side), q(x0):q(x0 + side)] = c
            i0, i1 = q(y0 + 0.15 * side), q(y0 + 0.85 * side)
            j0, j1 = q(x0 + 0.15 * side), q(x0 + 0.85 * side)
            owner[i0:i1, j0:j1] = c
            ring[i0:i1, j0:j1] = -1
            pasted.add(c)
        for c in {int(y_cls[bg]), *pasted}:
            for d in (implied or {}).get(c, []):
                mask[b, d] = 0
        for c in pasted:
            seen = F.adaptive_avg_pool2d((owner == c).float()[None, None], 4)[0, 0]
            border = F.adaptive_avg_pool2d((ring == c).float()[None, None], 4)[0, 0]
            target[b, c] = (seen >= cover).float()
            # a square that shows only the tile's border may or may not show the object: unscored
            mask[b, c][(seen < cover) & (border >= cover)] = 0
    return imgs, target, mask


def flip_lr(x: torch.Tensor, t: torch.Tensor, m: torch.Tensor, p: float = 0.5):
    f = torch.rand(x.shape[0]) < p
    x[f], t[f], m[f] = x[f].flip(-1), t[f].flip(-1), m[f].flip(-1)
    return x, t, m


@torch.no_grad()
def predict(net: nn.Module, x_uint8: np.ndarray, mean, std) -> np.ndarray:
    net.eval()
    out = [torch.sigmoid(net(normalise(augment.to_float(torch.from_numpy(x_uint8[i:i + 16])), mean, std)))
           for i in range(0, len(x_uint8), 16)]
    return torch.cat(out).numpy()  # N, C, 4, 4


def grid4_figures(probs: np.ndarray, y: list[tuple[int, list[int]]], thresholds: dict[int, float]) -> dict:
    tp = fp = fn = exact = 0
    for p, (c, cells) in zip(probs, y):
        chosen = set(np.flatnonzero(p[c].reshape(16) >= thresholds.get(c, 0.5)).tolist())
        truth = set(cells)
        tp, fp, fn = tp + len(chosen & truth), fp + len(chosen - truth), fn + len(truth - chosen)
        exact += chosen == truth
    prec, rec = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / max(1e-9, prec + rec), "exact": exact / max(1, len(y))}


def fit_thresholds(probs: np.ndarray, y: list[tuple[int, list[int]]]) -> dict:
    """{"all": t, class index: t}: square-F1-optimal thresholds on held-out challenges."""
    grid = np.linspace(0.02, 0.98, 49)
    best_all = max(grid, key=lambda t: (grid4_figures(probs, y, {c: t for c, _ in y})["f1"], -abs(t - 0.5)))
    out: dict = {"all": float(best_all)}
    for c in sorted({c for c, _ in y}):
        idx = [i for i, (k, _) in enumerate(y) if k == c]
        if len(idx) >= 4:
            sub = [y[i] for i in idx]
            out[c] = float(max(grid, key=lambda t: (grid4_figures(probs[idx], sub, {c: t})["f1"], -abs(t - best_all))))
    return out


def at(th: dict, y) -> dict:
    return {c: th.get(c, th["all"]) for c, _ in y}


def run(args, p) -> None:
    check(p, args)
    out, log = open_run(args)
    rng = np.random.default_rng(args.seed)

    init = torch.load(args.init, map_location="cpu")
    classes, mean, std = init["classes"], init["mean"], init["std"]
    tile_net = build_model(init["arch"], len(classes))
    tile_net.load_state_dict(init["model"])
    net = Grid4Net(tile_net).to(memory_format=torch.channels_last)

    # Tiles for the synthetic scenes: the tile model's own training split only.
    init_args = init["args"]
    root = data.shared_data() / "tiles-v1"
    rows = data.training_rows(init_args.get("labels"), init_args.get("limit", 0), init_args["seed"], log=lambda _m: None)  # the tile run's own rows
    tiles = data.load_images(root, rows, init["size"], f"tiles-{len(rows)}", log)
    split = Path(args.init).parent / "split.json"
    val_files = set(json.loads(split.read_text())["val_files"]) if split.exists() else set()
    keep = np.array([i for i, r in enumerate(rows) if r["file"] not in val_files and r["class"] in classes])
    x_src = torch.from_numpy(tiles.x_src[keep])
    y_cls = np.array([classes.index(rows[i]["class"]) for i in keep])
    min_tiles = max(1, min(20, len(keep) // 50))
    paste = [classes.index(c) for c in classes if c != "other" and (y_cls == classes.index(c)).sum() >= min_tiles]
    by_class = {c: np.flatnonzero(y_cls == c) for c in paste}
    # the classes 4x4 challenges ask about are pasted three times as often as the rest
    paste_classes = [c for c in paste for _ in range(3 if classes[c] in GRID4_CLASSES else 1)]
    other = classes.index("other") if "other" in classes else None
    implied = {classes.index(k): [classes.index(v) for v in vs if v in classes] for k, vs in IMPLIES.items() if k in classes}

    read_list = lambda p: [l.strip() for l in (data.project_root() / p).read_text().splitlines() if l.strip()]
    train_files, val_files4 = read_list(args.train_list), read_list(args.val_list)
    assert not set(train_files) & set(val_files4), "train and validation challenges overlap"
    train_files, x_all, y_all = load_grid4(train_files, args.size, classes)
    seen: dict[int, int] = {}
    fit_idx, train_idx = [], []
    for i, (c, _) in enumerate(y_all):
        seen[c] = seen.get(c, 0) + 1
        (fit_idx if seen[c] % args.hold_out == 0 else train_idx).append(i)
    xr, yr = x_all[train_idx], [y_all[i] for i in train_idx]
    xf, yf = x_all[fit_idx], [y_all[i] for i in fit_idx]
    # rebuilt pictures: every class the 4x4 path answers is labelled on each
    xq, tq, fit_ids, train_ids = np.zeros((0, args.size, args.size, 3), np.uint8), np.zeros((0, len(classes), 16), np.float32), [], []
    scored = [classes.index(c) for c in GRID4_CLASSES if c in classes]
    if args.rebuilt:
        pics = load_rebuilt(data.project_root() / args.rebuilt, avoid=val_files4)
        xs_all = np.stack([data.resize_like_service(img, args.size) for _, img, _ in pics])
        t_all = np.zeros((len(pics), len(classes), 16), np.float32)
        for i, (_, _, lab) in enumerate(pics):
            for c, cells in lab.items():
                if c in classes:
                    t_all[i, classes.index(c), cells] = 1
        # by a hash of the picture's id, so a regenerated rebuilt.csv keeps each picture on its side
        held = lambda pid: int(hashlib.sha1(pid.encode()).hexdigest(), 16) % args.rebuilt_hold_out == 0  # noqa: E731
        hold = [i for i, p in enumerate(pics) if held(p[0])]
        keep_q = [i for i, p in enumerate(pics) if not held(p[0])]
        xq, tq = xs_all[keep_q], t_all[keep_q]
        train_ids, fit_ids = [pics[i][0] for i in keep_q], [pics[i][0] for i in hold]
        # a held-out picture joins the fitting set once for each class it shows, like a challenge asking for it
        extra = [(i, c) for i in hold for c in scored if t_all[i, c].any()]
        if extra:
            xf = np.concatenate([xf, xs_all[[i for i, _ in extra]]])
            yf = yf + [(c, np.flatnonzero(t_all[i, c]).tolist()) for i, c in extra]
        log(f"rebuilt: {len(pics)} labelled pictures, {len(keep_q)} for training, {len(hold)} held out ({len(extra)} picture-class pairs join threshold fitting)")
    val_files4, xv, yv = load_grid4(val_files4, args.size, classes)
    log(f"{len(keep)} training tiles for synthetic scenes ({len(paste)} classes pasted); "
        f"{len(yr)} training, {len(yf)} threshold-fitting and {len(yv)} validation 4x4 challenges; {args.size} px")

    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.wd)
    budget_s, t_start, warm = args.budget_min * 60, time.time(), 100
    progress = lambda: min(1.0, (time.time() - t_start) / budget_s)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * progress())))
    step, running, t_eval = 0, 0.0, time.time()
    th = fit_thresholds(predict(net, xf, mean, std), yf)
    fig = grid4_figures(predict(net, xv, mean, std), yv, at(th, yv))
    log(f"step     0  val, the tile model's head as is: {json.dumps({k: round(v, 3) for k, v in fig.items()})} (threshold {th['all']:.2f})")
    best = -1.0
    done = lambda: progress() >= 1.0 or (args.max_steps and step >= args.max_steps)
    while not done():
        net.train()
        xs, ts, ms = synthetic(x_src, y_cls, by_class, paste_classes, len(classes), args.batch, args.size, args.cover, rng, implied)
        pick = rng.integers(len(xr), size=args.real)
        xb = augment.to_float(torch.from_numpy(xr[pick]))
        tb = torch.zeros(args.real, len(classes), 4, 4)
        mb = torch.zeros(args.real, len(classes), 4, 4)
        for j, i in enumerate(pick):
            c, cells = yr[i]
            mb[j, c] = 1
            tb[j, c].view(16)[cells] = 1
        if len(xq):
            pq = rng.integers(len(xq), size=args.rebuilt_per_step)
            xb = torch.cat([xb, augment.to_float(torch.from_numpy(xq[pq]))])
            tq_b = torch.from_numpy(tq[pq]).view(-1, len(classes), 4, 4)
            mq_b = torch.zeros_like(tq_b)
            mq_b[:, scored] = 1
            tb, mb = torch.cat([tb, tq_b]), torch.cat([mb, mq_b])
        x, t, m = flip_lr(torch.cat([xs, xb]), torch.cat([ts, tb]), torch.cat([ms, mb]))
        if other is not None:
            m[:, other] = 0
        x = augment.colour(x)
        noisy = (torch.rand(x.shape[0], 1, 1, 1) < 0.5).float() * torch.empty(x.shape[0], 1, 1, 1).uniform_(0.0, 0.05)
        x = (x + torch.randn_like(x) * noisy).clamp(0, 1)
        logits = net(normalise(x, mean, std).contiguous(memory_format=torch.channels_last))
        w = m * (1 + (args.pos_weight - 1) * t)
        per = F.binary_cross_entropy_with_logits(logits, t, reduction="none") * w
        # synthetic, grid4-v1 and rebuilt squares each count as one mean: the few real ones are not drowned out
        cuts = [0, args.batch, args.batch + args.real, x.shape[0]]
        loss = sum(per[a:b].sum() / w[a:b].sum().clamp(min=1) for a, b in zip(cuts, cuts[1:]) if b > a)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        running += float(loss)
        if step % args.eval_every == 0 or done():
            fit_probs = predict(net, xf, mean, std)
            th = fit_thresholds(fit_probs, yf)
            fit_f1 = grid4_figures(fit_probs, yf, at(th, yf))["f1"]
            probs = predict(net, xv, mean, std)
            fig = grid4_figures(probs, yv, at(th, yv))
            left = max(0.0, budget_s - (time.time() - t_start)) / 60
            log(f"step {step:5d}  loss {running / args.eval_every:.4f}  held-out training F1 {fit_f1:.3f}  val: P {fig['precision']:.3f} R {fig['recall']:.3f} "
                f"F1 {fig['f1']:.3f} exact {fig['exact']:.3f} (threshold {th['all']:.2f})  "
                f"{(time.time() - t_eval) / args.eval_every:.2f}s/step  left {left:.1f} min")
            running, t_eval = 0.0, time.time()
            state = {"model": net.state_dict(), "classes": classes, "size": args.size, "mean": mean, "std": std,
                     "arch": init["arch"], "step": step, "val": fig, "args": vars(args), "init": str(args.init),
                     "thresholds": {("all" if k == "all" else classes[k]): v for k, v in th.items()},
                     "split": {"train": [train_files[i] for i in train_idx], "fit": [train_files[i] for i in fit_idx], "val": val_files4,
                               "rebuilt_train": train_ids, "rebuilt_fit": fit_ids}}
            torch.save(state, out / "last.pt")
            # best.pt is picked on the held-out training challenges, never on validation
            if fit_f1 >= best:
                best = fit_f1
                torch.save(state, out / "best.pt")
    log(f"done after {step} steps; best.pt: held-out training F1 {best:.3f}")

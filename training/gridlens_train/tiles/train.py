"""Train the gridlens tile classifier on ../shared/data/tiles-v1 (+ data/labels): from scratch
(--arch mnv3s/mnv3l) or fine-tuned from the COCO-pretrained CenterNet backbone (--arch coco, read
from ../shared/pretrained/coco-mobilenetv3-centernet).

  /usr/bin/python3 training/train.py --arch coco --size 128 --budget-min 75 --out training/runs/coco128

Prints one line per epoch (loss, validation top-1, time left), keeps last.pt / best.pt and
args.json in --out. Validation: tiles-v1 split by near_cluster, stratified by class, fixed seed.
"""
from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import augment, data
from ..classes import QUESTION_IDS
from ..model import ARCHS, build_model
from ..run import open_run

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
# the COCO detector was trained on RGB 0-255 with no normalisation (shared/pretrained/README.md)
COCO_MEAN = [0.0, 0.0, 0.0]
COCO_STD = [1 / 255.0] * 3


def norm_for(arch: str) -> tuple[list[float], list[float]]:
    return (COCO_MEAN, COCO_STD) if arch == "coco" else (MEAN, STD)


def add_arguments(p, kind) -> None:
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--budget-min", type=float, default=0.0,
                   help="train for this many minutes of wall clock instead of --epochs; the cosine schedule follows the clock")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--size", type=int, default=96, help="model input side in pixels")
    p.add_argument("--arch", choices=ARCHS, default="mnv3s")
    p.add_argument("--head", choices=("sigmoid", "softmax"), default="sigmoid")
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--balance", type=float, default=0.5, help="sample weight n_class**-balance (0 = none, 1 = fully balanced)")
    p.add_argument("--mix", type=float, default=0.5, help="probability of mixup/cutmix per batch")
    p.add_argument("--pseudo", type=float, default=0.0, help="confidence for pseudo-labels on unlabeled-v1 3x3 tiles (0 = off)")
    p.add_argument("--pseudo-start", type=int, default=10, help="epoch from which pseudo-labels are used")
    p.add_argument("--labels", action="append",
                   help="a label source merged with tiles-v1, repeatable: a folder of our own label CSVs for unlabeled-v1 tiles, "
                        "or a folder written by `gridlens feedback export` (labels.csv + tiles/); default data/labels ('' = none)")
    p.add_argument("--limit", type=int, default=0, help="use at most this many labelled tiles (smoke runs); tiles from feedback exports are always kept")
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--fit-fraction", type=float, default=0.10,
                   help="clusters per class held out of training to fit thresholds and calibration (never reported)")
    p.add_argument("--backbone-lr", type=float, default=1.0, help="the pretrained backbone's learning rate as a multiple of --lr")
    p.add_argument("--scale-min", type=float, default=0.6, help="smallest random crop, as a fraction of the tile's area")
    p.add_argument("--log-every", type=int, default=20, help="print progress every this many steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--ema", type=float, default=0.998)
    p.add_argument("--val-from", default="", help="pin validation to an earlier model's list (e.g. models/gridlens-tiles/validation.txt), so a run with more labels is compared on the same unseen tiles")
    p.add_argument("--teacher", default="",
                   help="distil from this tile checkpoint (a run's last.pt, same classes, softmax or sigmoid head, any --size): its "
                        "scores on every clean training tile, and on every unlabelled 3x3 tile in place of --pseudo's hard labels, "
                        "computed once at its own input size, become part of the targets")
    p.add_argument("--distill", type=float, default=0.7,
                   help="with --teacher: the teacher's share of each labelled tile's target (the rest is its label); unlabelled "
                        "tiles take the teacher's scores alone, at half a labelled tile's weight")
    p.add_argument("--init", default="", help="start from this checkpoint's weights (a run's last.pt of the same --arch and classes)")
    p.add_argument("--out", required=True, help="run folder for checkpoints, args.json and log")


def check(p, args) -> None:
    """Refuse values that parse but make no sense together, naming the allowed range."""
    if args.epochs < 1:
        p.error(f"--epochs {args.epochs}: at least 1 (under --budget-min the clock ends training; --epochs then only sets the warm-up)")
    if args.teacher and not 0 <= args.distill <= 1:
        p.error(f"--distill {args.distill}: the teacher's share of a target, 0-1")
    if args.teacher and args.pseudo:
        p.error("--teacher and --pseudo both label the unlabelled tiles: give one (--teacher gives every unlabelled tile its soft scores)")


def targets_for(rows, classes, smoothing):
    y = np.full((len(rows), len(classes)), smoothing / len(classes), np.float32)
    for i, r in enumerate(rows):
        for lab in r["labels"].split("|"):
            if lab in classes:
                y[i, classes.index(lab)] = 1.0 - smoothing
    return torch.from_numpy(y)


_NORM = {"mean": MEAN, "std": STD}


def normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - torch.tensor(_NORM["mean"]).view(1, 3, 1, 1)) / torch.tensor(_NORM["std"]).view(1, 3, 1, 1)


@torch.no_grad()
def predict(model, x_eval_uint8: np.ndarray, head: str, device, batch=512) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(x_eval_uint8), batch):
        xb = normalise(augment.to_float(torch.from_numpy(x_eval_uint8[i:i + batch]))).to(device)
        logits = model(xb)
        out.append((torch.sigmoid(logits) if head == "sigmoid" else torch.softmax(logits, 1)).cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def recalibrate_bn(model, x_eval_uint8: np.ndarray, device, batch=256) -> None:
    """Re-estimate BatchNorm statistics of the EMA weights on clean (unaugmented) training tiles.

    Copying the live model's running stats into the EMA model mismatches its weights; without
    this the EMA model collapsed to predicting "car" for every tile in evaluation mode.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
    model.train()
    for i in range(0, len(x_eval_uint8), batch):
        model(normalise(augment.to_float(torch.from_numpy(x_eval_uint8[i:i + batch]))).to(device))
    model.eval()


def teacher_targets(args, rows, root, classes, unl, urows, held_out: list[str], device, log):
    """The teacher's scores on every labelled tile and (when loaded) every unlabelled 3x3 tile, each tile seen
    whole and clean at the teacher's own input size and normalisation. Returns two [N, classes] tensors
    (the second None without unlabelled tiles)."""
    state = torch.load(args.teacher, map_location="cpu")
    if state["classes"] != classes:
        raise SystemExit(f"--teacher {args.teacher}: its classes {state['classes']} differ from this run's {classes}")
    # the teacher must never have trained on a tile this run holds out: its scores would carry them into the student
    split_file = Path(args.teacher).parent / "split.json"
    if not split_file.exists():
        raise SystemExit(f"--teacher {args.teacher}: no split.json beside it, so it cannot be shown to have held out this run's validation and fitting tiles")
    teacher_split = json.loads(split_file.read_text())
    held = set(teacher_split["val_files"]) | set(teacher_split.get("fit_files", []))
    leaked = [f for f in held_out if f not in held]
    if leaked:
        raise SystemExit(f"--teacher {args.teacher} trained on {len(leaked)} of this run's validation/fitting tiles (e.g. {leaked[0]}); "
                         "train the student with the teacher's --labels, --seed, --val-from and fractions")
    net = build_model(state["arch"], len(classes))
    net.load_state_dict(state["model"])
    net.to(device)
    saved = dict(_NORM)
    _NORM.update(mean=state["mean"], std=state["std"])
    try:
        tiles = data.load_images(root, rows, state["size"], f"tiles-{len(rows)}", log)
        y = torch.from_numpy(predict(net, tiles.x_eval, state["head"], device))
        yu = None
        if unl is not None:
            utiles = data.load_images(data.shared_data() / "unlabeled-v1", urows, state["size"], f"unlabeled-x126-{len(urows)}", log)
            yu = torch.from_numpy(predict(net, utiles.x_eval, state["head"], device))
    finally:
        _NORM.clear()
        _NORM.update(saved)
    if state["head"] == "sigmoid" and args.head == "softmax":  # per-class probabilities to a distribution over classes
        y, yu = y / y.sum(1, keepdim=True).clamp(min=1e-6), (None if yu is None else yu / yu.sum(1, keepdim=True).clamp(min=1e-6))
    agree = float((y.argmax(1).numpy() == np.array([classes.index(r["class"]) for r in rows])).mean())
    log(f"teacher {args.teacher} (epoch {state['epoch']}, {state['size']} px): agrees with {agree:.1%} of the labelled tiles' classes")
    return y.float(), (None if yu is None else yu.float())


def loss_fn(logits, y, head):
    if head == "sigmoid":
        return F.binary_cross_entropy_with_logits(logits, y)
    return torch.sum(-y / y.sum(1, keepdim=True) * F.log_softmax(logits, 1), 1).mean()


def run(args, p) -> None:
    check(p, args)
    out, log = open_run(args)
    _NORM["mean"], _NORM["std"] = norm_for(args.arch)

    root = data.shared_data() / "tiles-v1"
    rows = data.training_rows(args.labels, args.limit, args.seed, log)
    # every class with tiles; a class of the question table without tiles stays untrained (and unanswered)
    classes = sorted({r["class"] for r in rows} | ({"other"} if "other" in QUESTION_IDS else set()))
    log(f"loading {len(rows)} labelled tiles from {root}")
    tiles = data.load_images(root, rows, args.size, f"tiles-{len(rows)}", log)
    if args.fit_fraction > 0:
        if args.val_from:
            pinned = set(Path(args.val_from).read_text().split())
            train_idx, val_idx, fit_idx = data.split_keeping_validation(rows, pinned, args.fit_fraction, args.seed)
            log(f"validation pinned to {args.val_from}: {len(val_idx)} tiles ({len(pinned)} listed)")
        else:
            train_idx, val_idx, fit_idx = data.split_by_cluster(rows, args.val_fraction, args.seed, args.fit_fraction)
    else:
        (train_idx, val_idx), fit_idx = data.split_by_cluster(rows, args.val_fraction, args.seed), []
    (out / "split.json").write_text(json.dumps({"val_files": [rows[i]["file"] for i in val_idx],
                                                "fit_files": [rows[i]["file"] for i in fit_idx]}))
    y_all = targets_for(rows, classes, args.smoothing)
    y_hard = np.array([classes.index(r["class"]) for r in rows])
    log(f"train {len(train_idx)}  val {len(val_idx)}  fit {len(fit_idx)}  classes {len(classes)}  device {args.device}")

    unl = None
    if args.pseudo > 0 or args.teacher:
        uroot = data.shared_data() / "unlabeled-v1"
        # Never pseudo-label a labelled tile, a near-duplicate of a validation tile, or a tile the
        # data set marks as overlapping tiles-v1: validation must stay unseen, inputs included.
        labelled = {r["file"] for r in rows}
        val_clusters = {rows[i]["near_cluster"] for i in list(val_idx) + list(fit_idx)}
        urows = [r for r in data.read_manifest(uroot / "manifest.csv")
                 if r["file"].startswith("X/") and r["width"] == "126" and r["file"] not in labelled
                 and "u:" + r["near_cluster"] not in val_clusters and r["overlaps_labeled"] == "0"]
        if args.limit:  # smoke runs: as few unlabelled tiles as labelled ones
            urows = urows[:args.limit]
        log(f"loading {len(urows)} unlabelled 3x3 tiles for {'the teacher' if args.teacher else 'pseudo-labels'} (labelled tiles and validation near-duplicates left out)")
        unl = data.load_images(uroot, urows, args.size, f"unlabeled-x126-{len(urows)}", log)

    device = torch.device(args.device)
    model = build_model(args.arch, len(classes)).to(device).to(memory_format=torch.channels_last)
    if args.init:
        init = torch.load(args.init, map_location="cpu")
        if init["arch"] != args.arch or init["classes"] != classes:
            raise SystemExit(f"--init {args.init}: arch {init['arch']} with {len(init['classes'])} classes, this run is {args.arch} with {len(classes)}")
        model.load_state_dict(init["model"])
        log(f"started from {args.init} (epoch {init['epoch']}, validation top-1 {init['val_top1']:.4f})")
    teacher_y, teacher_unl = None, None
    if args.teacher:
        teacher_y, teacher_unl = teacher_targets(args, rows, root, classes, unl, urows if unl is not None else [],
                                                [rows[i]["file"] for i in [*val_idx, *fit_idx]], device, log)
        y_all = args.distill * teacher_y + (1 - args.distill) * y_all
    ema = copy.deepcopy(model).eval()
    head_params = [p for n, p in model.named_parameters() if n.startswith("classifier")]
    body_params = [p for n, p in model.named_parameters() if not n.startswith("classifier")]
    opt = torch.optim.AdamW([{"params": body_params, "lr": args.lr * args.backbone_lr},
                             {"params": head_params, "lr": args.lr}], lr=args.lr, weight_decay=args.wd)
    steps_per_epoch = max(1, len(train_idx) // args.batch)
    total = steps_per_epoch * args.epochs
    warm = min(3 * steps_per_epoch, total // 10 + 1)
    budget_s = args.budget_min * 60
    t_start = time.time()

    def progress(step: int) -> float:
        """Fraction of training done: by steps, or by wall clock under --budget-min."""
        return min(1.0, (time.time() - t_start) / budget_s) if budget_s else min(step, total) / total

    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * progress(s))))

    x_src = torch.from_numpy(tiles.x_src)
    counts = np.bincount(y_hard[train_idx], minlength=len(classes)).astype(np.float64)
    best, t0, step = -1.0, time.time(), 0
    calib_idx = np.random.default_rng(args.seed).choice(train_idx, min(2048, len(train_idx)), replace=False)
    pool_x, pool_y, pool_w = x_src[train_idx], y_all[train_idx], torch.from_numpy(counts[y_hard[train_idx]] ** -args.balance)
    if teacher_unl is not None:
        # every unlabelled tile with the teacher's scores as its target, weighted by the class the teacher gives it
        pc = teacher_unl.argmax(1).numpy()
        pool_x = torch.cat([x_src[train_idx], torch.from_numpy(unl.x_src)])
        pool_y = torch.cat([y_all[train_idx], teacher_unl])
        pool_w = torch.cat([pool_w, torch.from_numpy(np.maximum(counts[pc], 1) ** -args.balance * 0.5)])
        log(f"distilling from {args.teacher}: {len(train_idx)} labelled tiles ({args.distill:.0%} teacher), {len(pc)} unlabelled tiles (teacher alone)")
    epoch = 0
    while (progress(step) < 1.0) if budget_s else (epoch < args.epochs):
        epoch += 1
        if unl is not None and teacher_unl is None and args.pseudo > 0 and epoch >= args.pseudo_start and (epoch - args.pseudo_start) % 5 == 0:
            recalibrate_bn(ema, tiles.x_eval[calib_idx], device)
            probs = predict(ema, unl.x_eval, args.head, device)
            keep = np.where(probs.max(1) >= args.pseudo)[0]
            py = torch.full((len(keep), len(classes)), args.smoothing / len(classes))
            py[torch.arange(len(keep)), torch.from_numpy(probs[keep].argmax(1))] = 1 - args.smoothing
            pc = probs[keep].argmax(1)
            pw = counts[pc] ** -args.balance * 0.5  # pseudo-labels weigh half a labelled tile
            pool_x = torch.cat([x_src[train_idx], torch.from_numpy(unl.x_src[keep])])
            pool_y = torch.cat([y_all[train_idx], py])
            pool_w = torch.cat([torch.from_numpy(counts[y_hard[train_idx]] ** -args.balance), torch.from_numpy(pw)])
            hist = {classes[c]: int((pc == c).sum()) for c in range(len(classes)) if (pc == c).any()}
            log(f"  pseudo-labels: {len(keep)} unlabelled tiles at >= {args.pseudo}: {hist}")
        model.train()
        order = torch.multinomial(pool_w, steps_per_epoch * args.batch, replacement=True)
        running, te = 0.0, time.time()
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            xb = augment.train_batch(pool_x[idx], args.size, (args.scale_min, 1.0))
            xb, yb = augment.mix(xb, pool_y[idx], args.mix)
            xb = normalise(xb).to(device).contiguous(memory_format=torch.channels_last)
            loss = loss_fn(model(xb), yb.to(device), args.head)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            with torch.no_grad():
                d = min(args.ema, (1 + step) / (10 + step))
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(d).add_(pm.detach(), alpha=1 - d)
                for be, bm in zip(ema.buffers(), model.buffers()):
                    be.copy_(bm)
            running += float(loss)
            if args.log_every and (s + 1) % args.log_every == 0:
                log(f"  epoch {epoch} step {s + 1}/{steps_per_epoch}  loss {running / (s + 1):.4f}  "
                    f"{(time.time() - te) / (s + 1):.2f}s/step")
        recalibrate_bn(ema, tiles.x_eval[calib_idx], device)
        probs = predict(ema, tiles.x_eval[val_idx], args.head, device)
        acc = float((probs.argmax(1) == y_hard[val_idx]).mean())
        elapsed = time.time() - t0
        left = max(0.0, budget_s - (time.time() - t_start)) if budget_s else elapsed / epoch * (args.epochs - epoch)
        log(f"epoch {epoch:3d}/{'~' if budget_s else ''}{args.epochs if not budget_s else int(epoch / max(progress(step), 1e-9))}  loss {running / steps_per_epoch:.4f}  val top-1 {acc:.4f}  "
            f"lr {sched.get_last_lr()[0]:.2e}  {time.time() - te:.0f}s/epoch  left {left / 60:.1f} min")
        state = {"model": ema.state_dict(), "arch": args.arch, "head": args.head, "classes": classes,
                 "size": args.size, "mean": _NORM["mean"], "std": _NORM["std"], "epoch": epoch, "val_top1": acc, "args": vars(args)}
        torch.save(state, out / "last.pt")
        if acc >= best:
            best = acc
            torch.save(state, out / "best.pt")
    per_class = {c: float((probs.argmax(1)[y_hard[val_idx] == k] == k).mean()) if (y_hard[val_idx] == k).any() else None
                 for k, c in enumerate(classes)}
    log(f"done: best val top-1 {best:.4f}; last per-class recall {json.dumps(per_class)}")

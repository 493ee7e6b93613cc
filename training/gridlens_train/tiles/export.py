"""Export a tile training run to the service's model format.

  /usr/bin/python3 training/export.py --run training/runs/tiles-sigmoid --name gridlens-tiles

Writes models/<name>/model.onnx (probabilities out), model.json (src/model/manifest.ts), and
validation.txt (the validation split's file names, for `gridlens eval --only`).

When the run kept a fitting split (train.py --fit-fraction, the default), the scores are calibrated
on it (per-class Platt scaling, baked into the ONNX graph: gridlens_train/calibration.py) and the
per-class thresholds are fitted on it too: the threshold that maximises balanced accuracy of
"score >= t" for tiles with versus without the class. Validation is only scored, for model.json's
metrics and the model card. Runs without a fitting split fall back to fitting on validation (the
figures are then optimistic, and model.json says so).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from .. import data
from ..calibration import (Calibrated, apply_platt, calibration_report, challenge_ece, challenge_threshold, fit_platt,
                           gate_threshold,
                           half_shift, prior_shift)
from ..classes import QUESTION_IDS
from ..manifest import checkpoint_version, export_onnx, write_manifest
from ..model import WithActivation, build_model
from . import train
from .train import predict

GRID4_DEFAULT = "bicycle,bus,crosswalk,hydrant,motorcycle,stairs,traffic_light"


def calibrate(scores: np.ndarray, positive: np.ndarray) -> float:
    if positive.sum() == 0 or (~positive).sum() == 0:
        return 0.5
    best_t, best = 0.5, -1.0
    for t in np.linspace(0.02, 0.98, 97):
        bal = ((scores[positive] >= t).mean() + (scores[~positive] < t).mean()) / 2
        if bal > best + 1e-9:
            best_t, best = float(t), float(bal)
    return best_t


def included_first(ks: list[int], classes: list[str], includes: dict[str, list[str]]) -> list[int]:
    """`ks` ordered so that every class comes after the classes its question includes (depth first, so a chain
    such as vehicle=bus, bus=school_bus works too)."""
    order: list[int] = []

    def visit(c: str, path: tuple[str, ...] = ()) -> None:
        if c in path:
            raise SystemExit(f"--include: {' -> '.join(path + (c,))} is a cycle")
        for o in includes.get(c, []):
            visit(o, path + (c,))
        k = classes.index(c)
        if k in ks and k not in order:
            order.append(k)
    for k in ks:
        visit(classes[k])
    return order


def add_arguments(p, kind) -> None:
    p.add_argument("--run", required=True, help="training run folder (best.pt, split.json)")
    p.add_argument("--checkpoint", default=kind.checkpoint)
    p.add_argument("--name", default=kind.model)
    p.add_argument("--version", default=None, help="default: date + checkpoint hash")
    p.add_argument("--out", default=None, help="default: models/<name>")
    p.add_argument("--min-recall", type=float, default=0.0,
                   help="a class new to the manifest answers its questions only if its validation recall "
                        "reaches this (issue 7 uses 0.9); established classes are exempt")
    p.add_argument("--established", default=None,
                   help="comma list of classes exempt from --min-recall (default: the classes the model "
                        "being replaced, models/<name>/model.json, answers)")
    p.add_argument("--grid4", default=GRID4_DEFAULT, help="classes answered on 4x4 pictures (comma list)")
    p.add_argument("--fuse", action="store_true",
                   help="COCO backbone: export hard-swish/hard-sigmoid as single ONNX ops (exact 1/6 instead of TF's float16 constant)")
    p.add_argument("--challenge-prior", type=float, default=0.0,
                   help="calibrate to this share of positive tiles (a 3x3 shows the asked object in 2-5 of 9: 0.39) instead of "
                        "the fitting split's own share of each class; 0 = the split's")
    p.add_argument("--operating-point", choices=("balanced", "challenge"), default="balanced",
                   help="how each class's threshold (model.json `thresholds`) is chosen on the fitting split: best balanced accuracy "
                        "over its tiles, or best expected 3x3 exact-solve rate (2-5 of 9 tiles positive, as gridlens eval plants them). "
                        "The service answers 1x1 pictures (and 4x4 squares with a tile model) at this threshold; a 3x3 is answered at "
                        "the client's confidence (or the top three), which is why --at-half moves the scores themselves")
    p.add_argument("--at-half", action="store_true",
                   help="move each answered class's calibrated bias so that 0.5, the confidence a vendor client sends, is its best "
                        "3x3 operating point on the fitting split (its threshold becomes 0.5); needs a fitting split")
    p.add_argument("--half-min-positives", type=int, default=10,
                   help="--at-half leaves a class alone when the fitting split has fewer positives of it than this")
    p.add_argument("--no-calibrate", action="store_true", help="export raw scores even when the run has a fitting split")
    p.add_argument("--gate", type=float, default=0.0,
                   help="a new class answers only if, on validation, its tile recall and precision at its threshold "
                        "both reach this and it has --gate-min-positives validation tiles (issue 16 uses 0.85)")
    p.add_argument("--gate-min-positives", type=int, default=30)
    p.add_argument("--new-class-threshold", choices=("objective", "gate"), default="objective",
                   help="a class outside --established gets its threshold by --operating-point like the others (objective), or "
                        "where min(recall, precision) is highest on the fitting split (gate): the point that best clears --gate")
    p.add_argument("--include", action="append", default=[], metavar="CLASS=OTHER[,OTHER]",
                   help="answer CLASS's questions with P(CLASS) + P(OTHER) (manifest `includes`; e.g. bus=school_bus: a school bus "
                        "is a bus); its threshold and gate figures use that score, and an OTHER tile counts as a CLASS positive")


def run(args, p) -> None:
    includes: dict[str, list[str]] = {}
    for spec in args.include:
        cls, _, others = spec.partition("=")
        if not cls or not others:
            p.error(f"--include wants CLASS=OTHER[,OTHER], got {spec!r}")
        includes[cls] = [o for o in others.split(",") if o]

    run_dir = Path(args.run)
    state = torch.load(run_dir / args.checkpoint, map_location="cpu")
    classes, size, head = state["classes"], state["size"], state["head"]
    for c, others in includes.items():
        unknown = [x for x in [c, *others] if x not in classes]
        if unknown:
            p.error(f"--include {c}={','.join(others)}: {', '.join(unknown)} not among the run's classes ({', '.join(classes)})")
    train._NORM.update(mean=state["mean"], std=state["std"])  # predict() normalises as this model was trained
    net = build_model(state["arch"], len(classes), fuse=args.fuse)
    net.load_state_dict(state["model"])
    net.eval()
    out = Path(args.out or data.project_root() / "models" / args.name)
    if args.established is not None:
        established = set(filter(None, args.established.split(",")))
    elif (out / "model.json").exists():
        established = {c for c, q in json.loads((out / "model.json").read_text())["questions"].items() if q}
    else:
        established = set()
    out.mkdir(parents=True, exist_ok=True)

    root = data.shared_data() / "tiles-v1"
    n_tiles_v1 = len(data.read_manifest(root / "manifest.csv"))
    rows = data.training_rows(state["args"].get("labels"), state["args"].get("limit", 0), state["args"]["seed"], log=lambda _m: None)
    sources = " + ".join(data.label_sources(state["args"].get("labels")))
    tiles = data.load_images(root, rows, size, f"tiles-{len(rows)}")
    split = json.loads((run_dir / "split.json").read_text())
    val_files, fit_files = split["val_files"], split.get("fit_files", [])
    index = {r["file"]: i for i, r in enumerate(rows)}
    val_idx = np.array([index[f] for f in val_files])
    fit_idx = np.array([index[f] for f in fit_files], dtype=int)

    def positives(idx, question: bool = False):
        """Per tile and class: does it show the class (its labels); with question=True, does the class's
        question want it (its labels, or a class it includes: thresholds and gate use these)."""
        def wanted(labels: list[str], c: str) -> bool:
            return c in labels or (question and any(o in labels for o in includes.get(c, [])))
        return np.array([[wanted(rows[i]["labels"].split("|"), c) for c in classes] for i in idx])

    def question_scores(p_: np.ndarray) -> np.ndarray:
        """The score each class's question is answered with (src/model/manifest.ts questionScore)."""
        q = p_.copy()
        for c, others in includes.items():
            k = classes.index(c)
            q[:, k] = np.minimum(1.0, p_[:, k] + sum(p_[:, classes.index(o)] for o in others))
        return q

    raw_val = predict(net, tiles.x_eval[val_idx], head, "cpu")
    pos_val = positives(val_idx)
    y = np.array([classes.index(rows[i]["class"]) for i in val_idx])
    fitted_on = "fit"
    calib = None
    at_half: dict[str, float] = {}  # class -> bias shift that put its 3x3 operating point at 0.5
    if len(fit_idx) and not args.no_calibrate:
        raw_fit = predict(net, tiles.x_eval[fit_idx], head, "cpu")
        pos_fit = positives(fit_idx)
        a, b = fit_platt(raw_fit, pos_fit)
        answerable_k = [k for k, c in enumerate(classes) if QUESTION_IDS.get(c)]
        plain = apply_platt(raw_val, a, b)
        if args.challenge_prior:
            b = prior_shift(b, pos_fit, args.challenge_prior)
        if args.at_half:
            # a class another question includes (school bus in bus) is moved first, so the including class is searched on its final scores
            qpos_fit = positives(fit_idx, question=True)
            for k in included_first(answerable_k, classes, includes):
                if qpos_fit[:, k].sum() < args.half_min_positives:
                    continue

                def score_with(d: float, k: int = k) -> np.ndarray:
                    moved = b.copy()
                    moved[k] += d
                    return question_scores(apply_platt(raw_fit, a, moved))[:, k]
                d = half_shift(score_with, qpos_fit[:, k])
                b[k] += d
                at_half[classes[k]] = round(d, 3)
            print(f"--at-half: bias shifts {at_half}")
        probs, probs_fit = apply_platt(raw_val, a, b), apply_platt(raw_fit, a, b)
        calib = {"method": "per-class Platt scaling on logit(score), fitted on the fitting split",
                 "fitTiles": int(len(fit_idx)), "a": {c: round(float(v), 4) for c, v in zip(classes, a)},
                 "b": {c: round(float(v), 4) for c, v in zip(classes, b)},
                 "validationBefore": calibration_report(raw_val, pos_val, y, answerable_k),
                 "validationAfter": calibration_report(probs, pos_val, y, answerable_k),
                 **({"challengePrior": args.challenge_prior,
                     "validationPlattOnly": calibration_report(plain, pos_val, y, answerable_k),
                     "challengeEce": {"raw": round(challenge_ece(raw_val, pos_val, answerable_k, args.challenge_prior), 4),
                                      "plattOnly": round(challenge_ece(plain, pos_val, answerable_k, args.challenge_prior), 4),
                                      "shipped": round(challenge_ece(probs, pos_val, answerable_k, args.challenge_prior), 4)}}
                    if args.challenge_prior else {}),
                 **({"atHalf": {"biasShift": at_half, "objective": "expected 3x3 exact-solve rate on the fitting split at 0.5"}}
                    if args.at_half else {})}
        export_onnx(Calibrated(WithActivation(net, head), a, b), size, out / "model.onnx")
        head_out = "sigmoid"
        print(f"calibration on {len(fit_idx)} fitting tiles: validation {calib['validationBefore']} -> {calib['validationAfter']}"
              + (f"; challenge-weighted class-wise ECE {calib['challengeEce']}" if args.challenge_prior else ""))
    else:
        if args.at_half:
            p.error("--at-half needs calibration: a run with a fitting split, and no --no-calibrate")
        probs = raw_val
        if len(fit_idx):
            probs_fit, pos_fit = predict(net, tiles.x_eval[fit_idx], head, "cpu"), positives(fit_idx)
        else:  # an old run without a fitting split: thresholds on validation (optimistic figures)
            probs_fit, pos_fit, fitted_on = probs, pos_val, "validation"
        export_onnx(WithActivation(net, head), size, out / "model.onnx")
        head_out = head
    thresholds, per_class, gate = {}, {}, {}
    q_fit, q_val = question_scores(probs_fit), question_scores(probs)
    qpos_fit, qpos_val = positives(fit_idx if len(fit_idx) else val_idx, question=True), positives(val_idx, question=True)
    for k, c in enumerate(classes):
        if c in at_half:
            thresholds[c] = 0.5
        elif args.new_class_threshold == "gate" and c not in established:
            thresholds[c] = gate_threshold(q_fit[:, k], qpos_fit[:, k])
        elif args.operating_point == "challenge":
            thresholds[c] = challenge_threshold(q_fit[:, k], qpos_fit[:, k])
        else:
            thresholds[c] = calibrate(q_fit[:, k], qpos_fit[:, k])
        pred_k = probs.argmax(1) == k
        per_class[c] = {"n": int((y == k).sum()),
                        "recall": float((pred_k & (y == k)).sum() / max(1, (y == k).sum())),
                        "precision": float((pred_k & (y == k)).sum() / max(1, pred_k.sum()))}
        sel, pos = q_val[:, k] >= thresholds[c], qpos_val[:, k]
        gate[c] = {"positives": int(pos.sum()), "recall": round(float((sel & pos).sum() / max(1, pos.sum())), 4),
                   "precision": round(float((sel & pos).sum() / max(1, sel.sum())), 4) if sel.any() else None,
                   "falsePositiveRate": round(float((sel & ~pos).sum() / max(1, (~pos).sum())), 4)}
        if c not in established:  # issue 16's hard negatives: how often a new class fires on each other class's tiles
            gate[c]["falsePositiveRateByClass"] = {o: round(float(sel[(y == j) & ~pos].mean()), 4)
                                                   for j, o in enumerate(classes) if o != c and ((y == j) & ~pos).any()}
    confusion = np.zeros((len(classes), len(classes)), int)
    for t, pr in zip(y, probs.argmax(1)):
        confusion[t, pr] += 1
    def passes(c):
        if c in established:
            return True
        g = gate[c]
        return (per_class[c]["recall"] >= args.min_recall and g["positives"] >= (args.gate_min_positives if args.gate else 0)
                and g["recall"] >= args.gate and (g["precision"] or 0) >= args.gate)

    answerable = [c for c in classes if QUESTION_IDS.get(c) and passes(c)]
    for c in classes:
        if QUESTION_IDS.get(c) and c not in answerable:
            print(f"{c}: held out of answering: validation top-1 recall {per_class[c]['recall']:.3f} (--min-recall {args.min_recall}); "
                  f"at threshold {thresholds[c]:.2f}: {gate[c]['positives']} positives, recall {gate[c]['recall']}, precision {gate[c]['precision']} (--gate {args.gate})")
    grid4 = [c for c in args.grid4.split(",") if c in answerable]
    manifest_sha = hashlib.sha1((root / "manifest.csv").read_bytes()).hexdigest()[:12]
    version = args.version or checkpoint_version(run_dir / args.checkpoint)
    metrics = {"validation": {"tiles": len(val_idx), "top1": float((probs.argmax(1) == y).mean()),
                              "perClass": per_class, "confusion": confusion.tolist(), "epoch": state["epoch"],
                              "atThreshold": gate},
               "thresholdsFittedOn": f"{fitted_on} split ({len(probs_fit)} tiles)",
               "thresholdObjective": ("expected 3x3 exact-solve rate" if args.operating_point == "challenge" else "balanced accuracy")
                                     + ("; best min(recall, precision) for classes outside --established" if args.new_class_threshold == "gate" else "")
                                     + (f"; 0.5 for {', '.join(at_half)} (--at-half)" if at_half else ""),
               **({"calibration": calib} if calib else {})}
    write_manifest(out, name=args.name, version=version, size=size, mean=state["mean"], std=state["std"],
                   activation=head_out, classes=classes, questions={c: QUESTION_IDS.get(c, []) for c in answerable},
                   thresholds=thresholds,
                   grids={"3x3": answerable, "1x1": answerable, "4x4": grid4},
                   data={"train": f"tiles-v1 + {sources} ({len(rows) - n_tiles_v1} tiles of our own labels)" if len(rows) > n_tiles_v1 else "tiles-v1", "manifestSha1": manifest_sha, "split": "near_cluster, stratified by class",
                         "valFraction": state["args"]["val_fraction"], "fitFraction": state["args"].get("fit_fraction", 0), "seed": state["args"]["seed"],
                         "unlabeled": (f"unlabeled-v1 3x3 tiles (distilled from {state['args']['teacher']})" if state["args"].get("teacher")
                                       else "unlabeled-v1 3x3 tiles (pseudo-labels)" if state["args"]["pseudo"] else None),
                         "trainArgs": state["args"]},
                   metrics=metrics, includes=includes or None)
    (out / "validation.txt").write_text("\n".join(val_files) + "\n")
    print(f"exported {out}: val top-1 {metrics['validation']['top1']:.4f}, "
          f"size {(out / 'model.onnx').stat().st_size / 1e6:.1f} MB")

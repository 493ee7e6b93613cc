"""Scores that read as probabilities: per-class Platt scaling fitted on the fitting split.

A tile model's raw outputs (softmax or sigmoid) are turned into, per class, the probability that the
tile shows that class: p' = sigmoid(a_c * logit(p) + b_c). (a_c, b_c) are fitted by maximum
likelihood on tiles that neither trained the model nor report its figures (the fitting split),
pulled towards one shared (a, b) so that a class with few fitting positives does not get a wild
curve. The map is baked into the exported ONNX graph (``Calibrated``), so the service, the
playground and ``scores: true`` all see calibrated probabilities and ``confidence: 0.5`` means
"more likely than not".
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

EPS = 1e-6


def logit(p: torch.Tensor) -> torch.Tensor:
    p = p.clamp(EPS, 1 - EPS)
    return torch.log(p) - torch.log1p(-p)


def fit_platt(scores: np.ndarray, positive: np.ndarray, prior: float = 2.0, steps: int = 500,
              mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scores [N, K] raw probabilities, positive [N, K] bool, mask [N, K] (1 = scored; default all).
    Returns (a, b), each [K].

    The loss is the mean binary cross-entropy of each class plus prior * ((a_c - a)^2 + (b_c - b)^2)
    / n_pos_c towards a shared (a, b): classes with many positives follow their own data."""
    z = logit(torch.from_numpy(scores).double())
    y = torch.from_numpy(positive.astype(np.float64))
    w = torch.ones_like(y) if mask is None else torch.from_numpy(mask.astype(np.float64))
    k = z.shape[1]
    a = torch.ones(k, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    ga = torch.ones(1, dtype=torch.float64, requires_grad=True)
    gb = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    n_pos = (y * w).sum(0).clamp(min=1)
    opt = torch.optim.LBFGS([a, b, ga, gb], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = a * z + b
        bce = (nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none") * w).sum(0) / w.sum(0).clamp(min=1)
        pull = prior * ((a - ga) ** 2 + (b - gb) ** 2) / n_pos
        loss = (bce + pull).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return a.detach().numpy().astype(np.float32), b.detach().numpy().astype(np.float32)


def apply_platt(scores: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    z = logit(torch.from_numpy(scores).double()).numpy()
    return (1 / (1 + np.exp(-(a * z + b)))).astype(np.float32)


def ece(probs: np.ndarray, correct: np.ndarray, bins: int = 15, weights: np.ndarray | None = None) -> float:
    """Expected calibration error: |accuracy - confidence| averaged over equal-width bins, weighted by
    count (or by the given sample weights)."""
    w = np.ones(len(probs)) if weights is None else weights
    edges = np.linspace(0, 1, bins + 1)
    total, n = 0.0, w.sum()
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (probs > lo) & (probs <= hi) if lo > 0 else (probs >= lo) & (probs <= hi)
        if m.any():
            wm = w[m]
            total += wm.sum() / n * abs((correct[m] * wm).sum() / wm.sum() - (probs[m] * wm).sum() / wm.sum())
    return float(total)


def prior_shift(b: np.ndarray, positive: np.ndarray, prior: float) -> np.ndarray:
    """Move each class's Platt bias from the fitting split's share of positives to `prior`, the share a
    challenge has (2-5 of 9 tiles show the asked object): the odds scale by prior/(1-prior) over the
    split's own odds, so a score reads as "the probability this tile of a challenge shows the asked object"."""
    f = positive.mean(0).clip(1e-3, 1 - 1e-3)
    return (b + np.log(prior / (1 - prior)) - np.log(f / (1 - f))).astype(np.float32)


CHALLENGE_POSITIVES = (2, 3, 4, 5)  # a 3x3 shows the asked object in 2-5 of its 9 tiles (src/eval/tiles.ts plants as many)


def challenge_solve_rate(scores: np.ndarray, positive: np.ndarray, threshold: float) -> float:
    """Expected exact-solve rate of a 3x3 challenge answered at `threshold`: k of the 9 tiles (k uniform in
    2-5) drawn from the class's positives, the rest from its negatives, every tile right. Per class,
    scores [N] and positive [N] bool of one pool of tiles (the fitting split)."""
    if positive.sum() == 0 or (~positive).sum() == 0:
        return float("nan")
    r = float((scores[positive] >= threshold).mean())
    s = float((scores[~positive] < threshold).mean())
    return float(np.mean([r ** k * s ** (9 - k) for k in CHALLENGE_POSITIVES]))


def middle_of_best(grid: np.ndarray, rates: np.ndarray, prefer: float) -> float:
    """The grid value in the middle of the widest run of consecutive best rates (the widest plateau, the one
    nearest `prefer` among equally wide ones): an edge of a plateau sits against a fitting tile's score, its
    middle leaves the most margin for tiles never seen."""
    best = rates >= np.nanmax(rates) - 1e-9
    runs, start = [], None
    for i, b in enumerate(np.append(best, False)):
        if b and start is None:
            start = i
        elif not b and start is not None:
            runs.append((start, i - 1))
            start = None
    lo, hi = max(runs, key=lambda r: (r[1] - r[0], -abs((grid[r[0]] + grid[r[1]]) / 2 - prefer)))
    return float((grid[lo] + grid[hi]) / 2)


def challenge_threshold(scores: np.ndarray, positive: np.ndarray) -> float:
    """The threshold (0.02-0.98) with the best expected 3x3 exact-solve rate on these tiles (the middle of the
    widest best plateau, rounded to 0.01)."""
    if positive.sum() == 0 or (~positive).sum() == 0:
        return 0.5
    grid = np.linspace(0.02, 0.98, 97)
    rates = np.array([challenge_solve_rate(scores, positive, t) for t in grid])
    return round(middle_of_best(grid, rates, 0.5), 2)


def gate_threshold(scores: np.ndarray, positive: np.ndarray) -> float:
    """The threshold (0.02-0.98) that best clears issue 16's gate on these tiles: the largest min(recall,
    precision) (the middle of the widest best plateau, rounded to 0.01). For a class that is answered only
    when both reach the gate, the balanced-accuracy threshold leans to recall on a rare class; this one
    spends the recall a class has to spare on precision."""
    if positive.sum() == 0 or (~positive).sum() == 0:
        return 0.5
    grid = np.linspace(0.02, 0.98, 97)
    rates = []
    for t in grid:
        sel = scores >= t
        recall = (sel & positive).sum() / positive.sum()
        precision = (sel & positive).sum() / sel.sum() if sel.any() else 0.0
        rates.append(min(recall, precision))
    return round(middle_of_best(grid, np.array(rates, dtype=np.float64), 0.5), 2)


def half_shift(score_with: "callable", positive: np.ndarray, span: float = 4.0, steps: int = 161) -> float:
    """The bias shift d (added to one class's calibrated logit) whose question score, answered at 0.5, has the
    best expected 3x3 exact-solve rate (the middle of the widest best plateau). `score_with(d)` returns the question
    score [N] of the fitting tiles with the shift applied, so a question answered by a sum of classes
    (manifest `includes`) is searched on the score the service uses."""
    grid = np.linspace(-span, span, steps)
    rates = np.array([challenge_solve_rate(score_with(d), positive, 0.5) for d in grid])
    if np.isnan(rates).all():
        return 0.0
    return middle_of_best(grid, rates, 0.0)


def challenge_ece(probs: np.ndarray, positive: np.ndarray, answerable: list[int], prior: float) -> float:
    """Class-wise ECE with the tiles reweighted so that, per class, positives weigh `prior` of the
    total: the calibration a client sees in challenges rather than in the validation pool."""
    errs, weights = [], []
    for k in answerable:
        pos = positive[:, k]
        if pos.sum() == 0 or (~pos).sum() == 0:
            continue
        w = np.where(pos, prior / pos.sum(), (1 - prior) / (~pos).sum())
        errs.append(ece(probs[:, k], pos.astype(np.float64), weights=w))
        weights.append(1.0)
    return float(np.average(errs, weights=weights)) if errs else float("nan")


def calibration_report(probs: np.ndarray, positive: np.ndarray, y: np.ndarray, answerable: list[int]) -> dict:
    """Top-label ECE (the arg-max class's score against whether it is right) and class-wise ECE
    (every score of an answerable class against whether the tile shows it; the question a
    client asks), on one set of tiles."""
    top = probs.argmax(1)
    top_label = ece(probs[np.arange(len(probs)), top], (top == y).astype(np.float64))
    cols = probs[:, answerable].ravel()
    truth = positive[:, answerable].ravel().astype(np.float64)
    # class-wise: only scores above 0.01, else the mass of easy negatives near 0 hides any error
    keep = cols > 0.01
    return {"topLabelEce": round(top_label, 4), "classwiseEce": round(ece(cols[keep], truth[keep]), 4)}


class Calibrated(nn.Module):
    """The exported graph: raw probabilities, then each class's Platt map (ONNX: Log, Sub, Mul, Add, Sigmoid)."""

    def __init__(self, net: nn.Module, a: np.ndarray, b: np.ndarray):
        super().__init__()
        self.net = net
        self.register_buffer("a", torch.from_numpy(np.asarray(a, np.float32)).view(1, -1))
        self.register_buffer("b", torch.from_numpy(np.asarray(b, np.float32)).view(1, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.net(x).clamp(EPS, 1 - EPS)
        return torch.sigmoid(self.a * (torch.log(p) - torch.log1p(-p)) + self.b)

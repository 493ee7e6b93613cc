"""Batched augmentation on CPU tensors, imitating how reCAPTCHA tiles vary.

Done per batch in torch (one affine grid_sample for crops, flips and small rotations) because
PIL per image costs ~1 ms each on this 2-core machine (shared/docs/measured-here.md).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    return x_uint8.permute(0, 3, 1, 2).float().div_(255.0)


def random_affine(x: torch.Tensor, out: int, scale=(0.6, 1.0), max_rot=10.0) -> torch.Tensor:
    """Random resized crop + horizontal flip + small rotation, output out x out."""
    n = x.shape[0]
    side = torch.empty(n).uniform_(*scale).sqrt()  # fraction of the source side
    aspect = torch.empty(n).uniform_(-0.15, 0.15).exp()
    sx, sy = side * aspect.sqrt(), side / aspect.sqrt()
    sx, sy = sx.clamp(max=1.0), sy.clamp(max=1.0)
    tx = (torch.rand(n) * 2 - 1) * (1 - sx)
    ty = (torch.rand(n) * 2 - 1) * (1 - sy)
    ang = (torch.rand(n) * 2 - 1) * math.radians(max_rot)
    flip = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
    cos, sin = ang.cos(), ang.sin()
    theta = torch.stack([
        torch.stack([sx * cos * flip, -sy * sin, tx], 1),
        torch.stack([sx * sin * flip, sy * cos, ty], 1),
    ], 1)
    grid = F.affine_grid(theta, (n, 3, out, out), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def colour(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    b = torch.empty(n, 1, 1, 1).uniform_(0.7, 1.3)
    c = torch.empty(n, 1, 1, 1).uniform_(0.7, 1.3)
    s = torch.empty(n, 1, 1, 1).uniform_(0.5, 1.5)
    cast = torch.empty(n, 3, 1, 1).uniform_(0.92, 1.08)
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * s
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * c + mean
    x = x * b * cast
    gray_mask = (torch.rand(n, 1, 1, 1) < 0.05).float()
    return x * (1 - gray_mask) + x.mean(1, keepdim=True) * gray_mask


def degrade(x: torch.Tensor) -> torch.Tensor:
    """reCAPTCHA's additive noise, blur and low-resolution/JPEG-like softness."""
    n, _, h, w = x.shape
    noisy = (torch.rand(n, 1, 1, 1) < 0.5).float() * torch.empty(n, 1, 1, 1).uniform_(0.0, 0.08)
    x = x + torch.randn_like(x) * noisy
    # sparse speckle, like the dotted noise some challenges carry
    speckle = (torch.rand(n, 1, h, w) < 0.01 * (torch.rand(n, 1, 1, 1) < 0.3).float()).float()
    x = x * (1 - speckle) + speckle * torch.rand(n, 3, 1, 1)
    low = torch.rand(n) < 0.25
    if low.any():
        k = int(torch.randint(40, 72, (1,)))
        small = F.interpolate(x[low], size=(k, k), mode="bilinear", align_corners=False, antialias=True)
        x[low] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return x


def mix(x: torch.Tensor, y: torch.Tensor, p: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup or CutMix on half of the batches; targets mix by area/weight."""
    if torch.rand(()) > p:
        return x, y
    n, _, h, w = x.shape
    perm = torch.randperm(n)
    lam = float(torch.distributions.Beta(1.0, 1.0).sample())
    if torch.rand(()) < 0.5:
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]
    cut = math.sqrt(1 - lam)
    ch, cw = int(h * cut), int(w * cut)
    cy, cx = int(torch.randint(0, h, (1,))), int(torch.randint(0, w, (1,)))
    y0, y1, x0, x1 = max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
    lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return x, lam * y + (1 - lam) * y[perm]


def train_batch(x_uint8: torch.Tensor, out: int, scale=(0.6, 1.0)) -> torch.Tensor:
    x = random_affine(to_float(x_uint8), out, scale)
    return degrade(colour(x)).clamp_(0, 1)

"""The 4x4 model on the COCO CenterNet detector: the whole picture in, a probability per square and class out.

Per square s and class c the model computes, from the frozen detector:
  * touch[c, s]: the highest heat-map peak of COCO class c whose box overlaps square s by more than
    `margin` pixels both ways (the zero-shot rule of shared/pretrained/README.md, written as tensor
    operations so that it exports to ONNX: a peak is a location equal to its 3x3 max-pool);
  * inside[c, s]: the highest heat-map value of class c inside square s;
  * the 720-channel stride-32 features, max- and mean-pooled over the square (4x4 cells at 512 px).
and a small learned head maps them to a logit: a linear classifier on the pooled features for every
class, plus, for the classes COCO knows, weights on logit(touch) and logit(inside). The head is
trained on labelled squares (grid4-v1 and data/grid4-rebuilt) with the detector frozen, then a
per-class Platt map fitted on the fitting split makes the output a probability.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import centernet

# the 4x4 classes COCO has a channel for (shared/pretrained/README.md)
COCO_OF = {"bicycle": 1, "car": 2, "motorcycle": 3, "bus": 5, "boat": 8, "traffic_light": 9, "hydrant": 10, "parking_meter": 12}
EPS = 1e-4


def _logit(p: torch.Tensor) -> torch.Tensor:
    p = p.clamp(EPS, 1 - EPS)
    return torch.log(p) - torch.log1p(-p)


class DetectorFeatures(nn.Module):
    """Frozen detector -> (pooled [N, 16, 1440], touch [N, K, 16], inside [N, K, 16]) for the COCO channels `coco`."""

    def __init__(self, coco: list[int], size: int, margin: float = 6.0):
        super().__init__()
        self.det = centernet.load([centernet.STRIDE32, centernet.KEYPOINTS, centernet.WH])
        for p in self.det.parameters():
            p.requires_grad_(False)
        self.register_buffer("coco", torch.tensor(coco, dtype=torch.long))
        self.size = size
        self.margin = margin * size / 512.0
        h = size // 4  # heat-map side
        ys = torch.arange(h, dtype=torch.float32).view(h, 1).expand(h, h).reshape(-1) * 4
        xs = torch.arange(h, dtype=torch.float32).view(1, h).expand(h, h).reshape(-1) * 4
        self.register_buffer("ys", ys)
        self.register_buffer("xs", xs)
        edges = torch.arange(5, dtype=torch.float32) * size / 4
        self.register_buffer("sq_x0", edges[:4].repeat(4))  # square s = 4 * row + col
        self.register_buffer("sq_x1", edges[1:].repeat(4))
        self.register_buffer("sq_y0", edges[:4].repeat_interleave(4))
        self.register_buffer("sq_y1", edges[1:].repeat_interleave(4))

    def forward(self, x: torch.Tensor):
        feat, heat, wh = self.det(x)
        n, _, h, w = heat.shape
        heat = heat.index_select(1, self.coco)  # N, K, H, W
        # per square: stride-32 features max- and mean-pooled (each square is an exact block at 512/384)
        # fixed-size pools (not adaptive ones) so the graph exports to ONNX at the trained size
        kf, kh = self.size // 128, self.size // 16  # one square in stride-32 and stride-4 cells
        pooled = torch.cat([F.max_pool2d(feat, kf), F.avg_pool2d(feat, kf)], 1)  # N, 1440, 4, 4
        pooled = pooled.flatten(2).transpose(1, 2)  # N, 16, 1440
        inside = F.max_pool2d(heat, kh).flatten(2)  # N, K, 16
        peaks = heat * (heat == F.max_pool2d(heat, 3, 1, 1)).float()  # N, K, H, W
        wh = wh.flatten(2)  # N, 4, HW: left, top, right, bottom
        x0, y0 = self.xs - wh[:, 0], self.ys - wh[:, 1]
        x1, y1 = self.xs + wh[:, 2], self.ys + wh[:, 3]  # N, HW
        ox = torch.minimum(x1[..., None], self.sq_x1) - torch.maximum(x0[..., None], self.sq_x0)  # N, HW, 16
        oy = torch.minimum(y1[..., None], self.sq_y1) - torch.maximum(y0[..., None], self.sq_y0)
        touches = ((ox > self.margin) & (oy > self.margin)).float()  # N, HW, 16
        touch = (peaks.flatten(2)[..., None] * touches[:, None]).amax(2)  # N, K, 16
        return pooled, touch, inside


class Grid4Head(nn.Module):
    """Learned mapping from the detector's per-square features to per-class logits."""

    def __init__(self, classes: list[str], dim: int = 1440, pooled_for_coco: bool = True):
        """pooled_for_coco False: a class COCO knows is scored from its detector channel alone
        (touch, inside, a bias), the pooled-feature classifier only serves the other classes."""
        super().__init__()
        self.classes = list(classes)
        self.coco_slot = [i for i, c in enumerate(classes) if c in COCO_OF]  # which classes have detector channels
        self.norm = nn.LayerNorm(dim)
        self.linear = nn.Linear(dim, len(classes))
        k = len(self.coco_slot)
        self.w_touch = nn.Parameter(torch.full((k,), 1.0))
        self.w_inside = nn.Parameter(torch.full((k,), 0.5))
        self.register_buffer("slot", torch.tensor(self.coco_slot, dtype=torch.long))
        keep = torch.ones(len(classes), 1)
        if not pooled_for_coco:
            keep[self.coco_slot] = 0
        self.register_buffer("keep", keep)

    def forward(self, pooled: torch.Tensor, touch: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
        logits = (self.linear(self.norm(pooled)).transpose(1, 2) * self.keep[None]  # N, C, 16
                  + self.linear.bias[None, :, None] * (1 - self.keep[None]))
        if len(self.coco_slot):
            det = self.w_touch[:, None] * _logit(touch) + self.w_inside[:, None] * _logit(inside)  # N, K, 16
            logits = logits.index_add(1, self.slot, det)
        return logits


class Grid4Detector(nn.Module):
    """The exported graph: picture (RGB 0-255, NCHW) -> probabilities [N, 16, C], calibrated per class."""

    def __init__(self, features: DetectorFeatures, head: Grid4Head, a: torch.Tensor, b: torch.Tensor):
        super().__init__()
        self.features, self.head = features, head
        self.register_buffer("a", a.view(1, -1, 1).float())
        self.register_buffer("b", b.view(1, -1, 1).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(*self.features(x))
        return torch.sigmoid(self.a * logits + self.b).transpose(1, 2)  # N, 16, C


def zero_shot(touch: torch.Tensor, threshold: float = 0.15) -> torch.Tensor:
    """The README's rule: a square is selected when a detected box (peak >= threshold) overlaps it."""
    return (touch >= threshold)

"""Model factory. MobileNetV3-small: depthwise convolutions run fast in onnxruntime on this CPU
(shared/docs/measured-here.md: ~2 ms for a batch of nine at 96 px), plain 3x3 ResNets do not."""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models import mobilenet_v3_small, mobilenet_v3_large

ARCHS = ("mnv3s", "mnv3l", "coco")


class CocoTileNet(nn.Module):
    """The COCO-pretrained CenterNet backbone (MobileNetV3-large 0.75, to its 720-channel stride-32
    map) with a pooled linear classifier. Input RGB 0-255 (mean 0, std 1/255 in model.json)."""

    def __init__(self, num_classes: int, pretrained: bool = True, dropout: float = 0.2, fuse: bool = False):
        super().__init__()
        from . import centernet
        self.features = centernet.load(centernet.STRIDE32, fuse=fuse)
        if not pretrained:
            for p in self.features.parameters():
                nn.init.normal_(p, std=0.01)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(720, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(x).mean((2, 3))))


def build_model(arch: str, num_classes: int, fuse: bool = False) -> nn.Module:
    """fuse (coco only): hard-swish / hard-sigmoid as single ops, for export (same weights)."""
    if arch == "mnv3s":
        return mobilenet_v3_small(weights=None, num_classes=num_classes, dropout=0.2)
    if arch == "mnv3l":
        return mobilenet_v3_large(weights=None, num_classes=num_classes, dropout=0.2, width_mult=0.75)
    if arch == "coco":
        return CocoTileNet(num_classes, fuse=fuse)
    raise ValueError(f"--arch must be one of {', '.join(ARCHS)}, got {arch!r}")


class WithActivation(nn.Module):
    """The exported graph: probabilities out, so the service never needs to know the head."""

    def __init__(self, net: nn.Module, head: str):
        super().__init__()
        self.net, self.head = net, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net(x)
        return torch.sigmoid(logits) if self.head == "sigmoid" else torch.softmax(logits, dim=1)

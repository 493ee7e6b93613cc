#!/usr/bin/env python3
"""Make the tiny model the service's tests run on (test/fixtures/tiny-model).

It is not trained: its scores are a fixed function of each tile's mean colour, so tests can
build pictures whose right answer is known exactly (a red tile is a "car", a blue one a "bus",
a green one a "palm"):  score(class) = sigmoid(20 * (mean of its channel - 0.5)).
"""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train.manifest import export_onnx, write_manifest  # noqa: E402

SIZE = 8
CLASSES = ["bus", "car", "other", "palm"]


class ColourModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, len(CLASSES))
        w = torch.zeros(len(CLASSES), 3)
        w[0, 2] = 20.0  # bus  <- blue
        w[1, 0] = 20.0  # car  <- red
        w[2, :] = -20.0 / 3  # other <- dark
        w[3, 1] = 20.0  # palm <- green
        with torch.no_grad():
            self.fc.weight.copy_(w)
            self.fc.bias.copy_(torch.tensor([-10.0, -10.0, 2.0, -10.0]))

    def forward(self, x):
        return torch.sigmoid(self.fc(self.pool(x).flatten(1)))


class ColourGrid4Model(nn.Module):
    """The same colour rule per square of the whole picture: the 4x4 picture-model contract
    (input.unit "picture", output batch x 16 squares x classes, squares row-major)."""

    def __init__(self):
        super().__init__()
        self.tile = ColourModel()

    def forward(self, x):
        m = nn.functional.adaptive_avg_pool2d(x, 4)  # B, 3, 4, 4: each square's mean colour
        return torch.sigmoid(self.tile.fc(m.permute(0, 2, 3, 1))).flatten(1, 2)


def main():
    grid4 = Path(__file__).resolve().parents[1] / "test" / "fixtures" / "tiny-grid4"
    grid4.mkdir(parents=True, exist_ok=True)
    export_onnx(ColourGrid4Model(), 32, grid4 / "model.onnx")
    write_manifest(grid4, name="tiny-colour-grid4-fixture", version="1", size=32, mean=[0, 0, 0], std=[1, 1, 1],
                   activation="sigmoid", classes=CLASSES, unit="picture",
                   questions={"bus": ["/m/01bjv"], "car": ["/m/0k4j"], "palm": ["/m/0cdl1"]},
                   thresholds={"bus": 0.5, "car": 0.5, "other": 0.5, "palm": 0.5},
                   grids={"4x4": ["car", "palm"]},
                   data={"note": "not trained; each square's score is a fixed function of its mean colour"}, metrics={})
    print(f"wrote {grid4}")
    out = Path(__file__).resolve().parents[1] / "test" / "fixtures" / "tiny-model"
    out.mkdir(parents=True, exist_ok=True)
    export_onnx(ColourModel(), SIZE, out / "model.onnx")
    write_manifest(out, name="tiny-colour-fixture", version="1", size=SIZE, mean=[0, 0, 0], std=[1, 1, 1],
                   activation="sigmoid", classes=CLASSES,
                   questions={"bus": ["/m/01bjv"], "car": ["/m/0k4j"], "palm": ["/m/0cdl1"]},
                   thresholds={"bus": 0.5, "car": 0.5, "other": 0.5, "palm": 0.5},
                   grids={"3x3": ["bus", "car", "palm"], "1x1": ["bus", "car", "palm"], "4x4": ["bus", "car"]},
                   data={"note": "not trained; scores are a fixed function of mean colour"}, metrics={})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

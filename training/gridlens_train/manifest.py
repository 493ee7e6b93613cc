"""What every kind's export writes: model.onnx (ONNX checker run), model.json (the contract with the
service: src/model/manifest.ts) with the graph's sha256, and the version named after the checkpoint."""
from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checkpoint_version(checkpoint: Path) -> str:
    """Today and the checkpoint's sha256 prefix, e.g. 2026-12-03-7e6910de."""
    return f"{date.today().isoformat()}-{sha256_of(checkpoint)[:8]}"


def write_manifest(out_dir: Path, *, name: str, version: str, size: int, mean, std, activation: str,
                   classes: list[str], questions: dict, thresholds: dict, grids: dict, data: dict, metrics: dict,
                   unit: str = "tile", includes: dict | None = None) -> dict:
    """unit "tile": one input image per cell; "picture": the whole picture in, one output row per cell.
    includes: {class: [classes]} whose scores also answer the class's questions (a school bus is a bus)."""
    manifest = {
        "format": "gridlens-model/1",
        "name": name,
        "version": version,
        "file": "model.onnx",
        "sha256": sha256_of(out_dir / "model.onnx"),
        "input": {"name": "input", "size": size, "layout": "NCHW", "mean": list(mean), "std": list(std),
                  "resize": "bilinear-half-pixel", **({"unit": unit} if unit != "tile" else {})},
        "output": {"name": "scores", "activation": activation},
        "classes": classes,
        "questions": {c: list(questions.get(c, [])) for c in classes},
        "thresholds": {c: round(float(thresholds[c]), 4) for c in classes},
        "grids": grids,
        **({"includes": includes} if includes else {}),
        "data": data,
        "metrics": metrics,
    }
    (out_dir / "model.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def export_onnx(model, size: int, path: Path) -> None:
    import onnx
    import torch

    model.eval()
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, dummy, str(path), input_names=["input"], output_names=["scores"],
                      dynamic_axes={"input": {0: "batch"}, "scores": {0: "batch"}}, opset_version=14)  # 14: HardSwish
    onnx.checker.check_model(onnx.load(str(path)))

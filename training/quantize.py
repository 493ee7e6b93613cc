#!/usr/bin/env python3
"""Static int8 quantisation of a shipped model (issue 17), written as a QDQ ONNX graph.

onnxruntime's Python quantiser is not installable here (PyPI is not reachable), so this writes the
QDQ graph itself with the `onnx` package, the way that quantiser does:
- weights of every Conv: int8, symmetric, one scale per output channel; biases int32 with scale
  input_scale * weight_scale (what onnxruntime's QDQ Conv fusion needs to make a QLinearConv);
- activations: uint8, asymmetric, one scale per tensor, on every input and output of the op
  types in --ops; the ranges come from running the float graph in onnxruntime-node on
  calibration inputs the model trained on (never validation): tiles-v1 tiles for a tile model,
  grid4-v1 training pictures for a picture model. --clip quantile clips each range to the
  0.01% / 99.99% quantiles of its values instead of min / max.
onnxruntime fuses each DequantizeLinear -> op -> QuantizeLinear group into an integer kernel
(QLinearConv, QLinearAdd, ...) when the session loads; ops left out of --ops stay float.

  /usr/bin/python3 training/quantize.py models/gridlens-tiles --out training/runs/int8-tiles
  node dist/bench/model-speed.js models/gridlens-tiles training/runs/int8-tiles
  npx gridlens eval --tiles ../shared/data/tiles-v1 --labels data/labels \\
      --only models/gridlens-tiles/validation.txt --model training/runs/int8-tiles

Writes <out>/model.onnx and <out>/model.json (the float model's manifest, with the new file's
sha256, "-int8" on its version and a "quantization" entry), plus the float model's other files.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import data  # noqa: E402

DEFAULT_OPS = ["Conv"]


def calibration_inputs(model_dir: Path, manifest: dict, n: int) -> np.ndarray:
    """n preprocessed inputs the model trained on (float32 NCHW), spread over the pool."""
    size, mean, std = manifest["input"]["size"], np.array(manifest["input"]["mean"]), np.array(manifest["input"]["std"])
    if manifest["input"].get("unit", "tile") == "picture":
        root = data.shared_data() / "grid4-v1"
        train = set((model_dir / "grid4-train.txt").read_text().split()) if (model_dir / "grid4-train.txt").exists() else None
        with (root / "labels.csv").open() as f:
            files = [r["file"] for r in csv.DictReader(f)]
        held = set()
        for name in ("grid4-validation.txt", "grid4-fit.txt"):
            if (model_dir / name).exists():
                held |= set((model_dir / name).read_text().split())
        files = [f for f in files if f not in held and (train is None or f in train)]
        tar_path = next(root.glob("*.tar"))
        want = set(files[:: max(1, len(files) // n)][:n])
    else:
        root = data.shared_data() / "tiles-v1"
        held = set((model_dir / "validation.txt").read_text().split()) if (model_dir / "validation.txt").exists() else set()
        rows = [r for r in data.read_manifest(root / "manifest.csv") if r["file"] not in held and r["kind"] == "recaptcha_tile"]
        rows.sort(key=lambda r: r["pix_sha1"])  # a fixed spread over every class
        want = {r["file"] for r in rows[:: max(1, len(rows) // n)][:n]}
        tar_path = None
    out = []
    tars = [tar_path] if tar_path else sorted(root.glob("*.tar"))
    for t in tars:
        with tarfile.open(t) as tar:
            for m in tar:
                if m.name in want or Path(m.name).name in want:
                    img = np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB"))
                    x = data.resize_like_service(img, size).astype(np.float32) / 255.0
                    out.append(((x - mean) / std).transpose(2, 0, 1))
    if not out:
        raise SystemExit(f"no calibration inputs found for {model_dir}")
    return np.stack(out).astype(np.float32)


def activation_ranges(model: onnx.ModelProto, names: list[str], x: np.ndarray, work: Path) -> dict[str, dict]:
    """Run the float graph in onnxruntime-node with `names` as extra outputs; their ranges."""
    aug = onnx.ModelProto()
    aug.CopyFrom(model)
    have = {o.name for o in aug.graph.output}
    for n in names:
        if n not in have:
            aug.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    onnx.save(aug, str(work / "augmented.onnx"))
    np.ascontiguousarray(x).tofile(work / "inputs.f32")
    tool = data.project_root() / "dist" / "src" / "inference" / "activation-ranges.js"
    if not tool.exists():
        raise SystemExit(f"{tool} is missing: run `npm run build` first")
    shape = ",".join(str(d) for d in x.shape)
    batch = "1" if x.shape[2] > 200 else "9"
    res = subprocess.run(["node", str(tool), str(work / "augmented.onnx"), str(work / "inputs.f32"), shape, batch],
                         check=True, stdout=subprocess.PIPE)
    return json.loads(res.stdout)


def uint8_params(lo: float, hi: float) -> tuple[float, int]:
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    return float(scale), int(np.clip(round(-lo / scale), 0, 255))


def is_depthwise(n) -> bool:
    return n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute)


def quantize(model: onnx.ModelProto, ranges: dict[str, dict], ops: set[str], clip: str,
             depthwise: bool = True) -> tuple[onnx.ModelProto, dict]:
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    producers = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    outputs = {o.name for o in g.output}

    # the activation tensors to quantise: every non-constant input and every output of an op in `ops`
    acts: list[str] = []
    for n in g.node:
        if n.op_type not in ops or (not depthwise and is_depthwise(n)):
            continue
        ins = n.input[:1] if n.op_type in ("Conv", "Gemm") else n.input
        for t in list(ins) + list(n.output):
            if t and t not in inits and t not in acts and t in ranges:
                acts.append(t)
    new_nodes: list = []
    new_inits: list = []
    act_scale: dict[str, float] = {}
    rename: dict[str, str] = {}
    for t in acts:
        r = ranges[t]
        lo, hi = (r["lo"], r["hi"]) if clip == "quantile" else (r["min"], r["max"])
        scale, zp = uint8_params(lo, hi)
        act_scale[t] = scale
        s_name, z_name = f"{t}__scale", f"{t}__zp"
        new_inits += [numpy_helper.from_array(np.array(scale, np.float32), s_name),
                      numpy_helper.from_array(np.array(zp, np.uint8), z_name)]
        q, dq = f"{t}__q", f"{t}__dq"
        new_nodes.append((t, helper.make_node("QuantizeLinear", [t, s_name, z_name], [q], name=f"{t}__Q"),
                          helper.make_node("DequantizeLinear", [q, s_name, z_name], [dq], name=f"{t}__DQ")))
        rename[t] = dq

    # consumers read the dequantised tensor (the producer's output then feeds only its Q node)
    for n in g.node:
        for k, i in enumerate(n.input):
            if i in rename:
                n.input[k] = rename[i]
    stats = {"conv": 0, "activations": len(acts)}
    weight_nodes = []
    for n in g.node:
        if n.op_type != "Conv" or "Conv" not in ops or (not depthwise and is_depthwise(n)):
            continue
        x_name = n.input[0]
        src = x_name[: -len("__dq")] if x_name.endswith("__dq") else None
        if src is None or n.input[1] not in inits:
            continue
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
        w_scale = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(1), 1e-8) / 127.0
        wq = np.clip(np.round(w / w_scale.reshape(-1, *([1] * (w.ndim - 1)))), -127, 127).astype(np.int8)
        base = n.input[1]
        new_inits += [numpy_helper.from_array(wq, f"{base}__int8"),
                      numpy_helper.from_array(w_scale.astype(np.float32), f"{base}__wscale"),
                      numpy_helper.from_array(np.zeros(w.shape[0], np.int8), f"{base}__wzp")]
        weight_nodes.append(helper.make_node("DequantizeLinear", [f"{base}__int8", f"{base}__wscale", f"{base}__wzp"],
                                             [f"{base}__wdq"], axis=0, name=f"{base}__WDQ"))
        n.input[1] = f"{base}__wdq"
        if len(n.input) > 2 and n.input[2] in inits:
            b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64)
            b_scale = (act_scale[src] * w_scale).astype(np.float32)
            bq = np.clip(np.round(b / b_scale), -(2 ** 31), 2 ** 31 - 1).astype(np.int32)
            bname = n.input[2]
            new_inits += [numpy_helper.from_array(bq, f"{bname}__int32"),
                          numpy_helper.from_array(b_scale, f"{bname}__bscale"),
                          numpy_helper.from_array(np.zeros(w.shape[0], np.int32), f"{bname}__bzp")]
            weight_nodes.append(helper.make_node("DequantizeLinear", [f"{bname}__int32", f"{bname}__bscale", f"{bname}__bzp"],
                                                 [f"{bname}__bdq"], axis=0, name=f"{bname}__BDQ"))
            n.input[2] = f"{bname}__bdq"
        stats["conv"] += 1

    # rebuild the node list in a valid order: each Q/DQ pair right after its producer (or first,
    # for the graph input), weight DQs first
    qdq_after: dict[str, list] = {}
    for t, q, dq in new_nodes:
        qdq_after.setdefault(t, []).extend([q, dq])
    ordered = list(weight_nodes)
    for inp in g.input:
        ordered += qdq_after.get(inp.name, [])
    for n in g.node:
        ordered.append(n)
        for o in n.output:
            ordered += qdq_after.get(o, [])
    del g.node[:]
    g.node.extend(ordered)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep + [i for i in new_inits if i.name in used])
    for o in g.output:
        if o.name in rename:
            raise SystemExit(f"graph output {o.name} is also quantised: leave its op out of --ops")
    del outputs, producers, consumers
    return model, stats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="a model folder (model.onnx + model.json)")
    p.add_argument("--out", type=Path, required=True, help="folder to write the int8 model into")
    p.add_argument("--calibration", type=int, default=256, help="calibration inputs (tiles, or pictures for a picture model)")
    p.add_argument("--ops", default=",".join(DEFAULT_OPS),
                   help="op types whose inputs and outputs are quantised, comma-separated (e.g. Conv,Add,Mul,GlobalAveragePool)")
    p.add_argument("--clip", choices=["minmax", "quantile"], default="minmax", help="activation range: min/max or 0.01%%/99.99%% quantiles")
    p.add_argument("--no-depthwise", action="store_true", help="leave depthwise convolutions in float")
    args = p.parse_args()
    t0 = time.time()
    manifest = json.loads((args.model / "model.json").read_text())
    model = onnx.load(str(args.model / manifest["file"]))
    ops = {o.strip() for o in args.ops.split(",") if o.strip()}
    x = calibration_inputs(args.model, manifest, args.calibration)
    print(f"calibration: {len(x)} inputs of {x.shape[1:]} ({time.time() - t0:.0f} s)", flush=True)
    inferred = onnx.shape_inference.infer_shapes(model)
    floats = {v.name for v in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input)
              if v.type.tensor_type.elem_type == TensorProto.FLOAT}
    names = [o for n in model.graph.node for o in n.output if o in floats and n.op_type != "Constant"]
    with tempfile.TemporaryDirectory() as tmp:
        ranges = activation_ranges(model, names, x, Path(tmp))
    for i in model.graph.input:  # the graph input: the calibration inputs' own range
        ranges[i.name] = {"min": float(x.min()), "max": float(x.max()), "lo": float(x.min()), "hi": float(x.max())}
    q, stats = quantize(model, ranges, ops, args.clip, depthwise=not args.no_depthwise)
    onnx.checker.check_model(q)
    args.out.mkdir(parents=True, exist_ok=True)
    for f in args.model.iterdir():
        if f.is_file() and f.name not in ("model.json", manifest["file"]):
            shutil.copy(f, args.out / f.name)
    onnx.save(q, str(args.out / "model.onnx"))
    sha = hashlib.sha256((args.out / "model.onnx").read_bytes()).hexdigest()
    manifest.update(file="model.onnx", sha256=sha, version=f"{manifest['version']}-int8")
    manifest["quantization"] = {"from": f"{manifest['name']}@{manifest['version'][:-5]}", "fromSha256": json.loads((args.model / "model.json").read_text())["sha256"],
                                "ops": sorted(ops), "clip": args.clip, "depthwise": not args.no_depthwise, "calibrationInputs": len(x),
                                "weights": "int8 symmetric per output channel", "activations": "uint8 asymmetric per tensor",
                                "command": " ".join(["training/quantize.py"] + sys.argv[1:])}
    (args.out / "model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    size = (args.out / "model.onnx").stat().st_size / 2 ** 20
    print(f"wrote {args.out / 'model.onnx'} ({size:.1f} MiB): {stats['conv']} Conv with int8 weights, "
          f"{stats['activations']} activation tensors quantised ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()

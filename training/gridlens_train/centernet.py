"""Load the COCO-pretrained MobileNetV3 CenterNet detector (shared/pretrained/coco-mobilenetv3-centernet,
a TensorFlow.js graph model) into a PyTorch module.

The graph is read as data: every node between the input and the requested outputs becomes a
PyTorch operation, each convolution an ``nn.Conv2d`` whose weights come from ``centernet.bin``
(float16 on disk, NHWC/HWIO in TensorFlow, turned into NCHW/OIHW here). Only the nodes the
requested outputs depend on are built, so the same loader gives the backbone alone (tile model)
or the whole detector with its heat map and box head (4x4 model).

What TensorFlow does differently from PyTorch, and is reproduced here:
  * ``SAME`` padding is asymmetric for stride 2 (the extra row/column goes bottom/right);
  * ``ResizeBilinear`` with align_corners=False and half_pixel_centers=False samples at
    ``dst * in / out`` (ONNX "asymmetric"), not PyTorch's half-pixel centres;
  * the input is RGB 0-255 with no normalisation.
See shared/pretrained/README.md for the format and the reference outputs a conversion must meet.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT = "tower_0/images"
STRIDE32 = "tower_0/MobilenetV3/expanded_conv_14/expand/hard_swish/mul_1"  # 720 channels
STRIDE16 = "tower_0/MobilenetV3/expanded_conv_11/expand/hard_swish/mul_1"
STRIDE8 = "tower_0/MobilenetV3/expanded_conv_5/expand/Relu"
KEYPOINTS = "tower_0/keypoints"  # [N, 80, H/4, W/4] sigmoid heat map, one channel per COCO class
WH = "tower_0/wh"  # [N, 4, H/4, W/4] left, top, right, bottom in input pixels
HEAD_PREFIX = "tower_0/CenternetHead/"
COCO = {"person": 0, "bicycle": 1, "car": 2, "motorcycle": 3, "bus": 5, "truck": 7, "boat": 8,
        "traffic_light": 9, "hydrant": 10, "parking_meter": 12}
PASS_THROUGH = {"Identity"}
CONV_OPS = {"_FusedConv2D", "Conv2D", "FusedDepthwiseConv2dNative", "DepthwiseConv2dNative"}


def default_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "pretrained" / "coco-mobilenetv3-centernet"


def _attr(node: dict, key: str):
    v = node.get("attr", {}).get(key)
    if v is None:
        return None
    if "s" in v:
        return base64.b64decode(v["s"]).decode()
    if "list" in v:
        lst = v["list"]
        if "s" in lst:
            return [base64.b64decode(s).decode() for s in lst["s"]]
        return [int(i) for i in lst.get("i", [])]
    for k in ("i", "f", "b"):
        if k in v:
            return v[k]
    return None


def read_tfjs(folder: Path) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """The graph's nodes by name, and every constant as a float32/int32 array."""
    spec = json.loads((folder / "centernet.json").read_text())
    raw = (folder / "centernet.bin").read_bytes()
    consts, pos = {}, 0
    for w in spec["weightsManifest"][0]["weights"]:
        count = int(np.prod(w["shape"])) if w["shape"] else 1
        stored = (w.get("quantization") or {}).get("dtype", w["dtype"])
        dtype = {"float16": np.float16, "float32": np.float32, "int32": np.int32}[stored]
        nbytes = count * np.dtype(dtype).itemsize
        arr = np.frombuffer(raw, dtype, count, pos).reshape(w["shape"])
        consts[w["name"]] = arr.astype(np.float32) if dtype != np.int32 else arr.astype(np.int32)
        pos += nbytes
    if pos != len(raw):
        raise ValueError(f"centernet.bin holds {len(raw)} bytes, the manifest describes {pos}")
    nodes = {n["name"]: n for n in spec["modelTopology"]["node"]}
    return nodes, consts


def _src(name: str) -> str:
    return name.split(":")[0].lstrip("^")


def _same_pad(x: torch.Tensor, k: int, s: int) -> torch.Tensor:
    """TensorFlow SAME: total padding max(k - s, 0) or so that out = ceil(in / s); extra at the end.
    The sizes are read as Python ints, so an ONNX export traces a constant Pad (the model's input
    size is fixed) that onnxruntime folds into the convolution, not a Shape/Gather/Concat chain
    evaluated on every run."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    ph = max((int(np.ceil(h / s)) - 1) * s + k - h, 0)
    pw = max((int(np.ceil(w / s)) - 1) * s + k - w, 0)
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


def upsample2x_tf_legacy(x: torch.Tensor) -> torch.Tensor:
    """ResizeBilinear(size=2*in, align_corners=False, half_pixel_centers=False): src = dst / 2,
    so even outputs copy a pixel and odd ones average it with the next (the last one clamps)."""
    def along(t: torch.Tensor, dim: int) -> torch.Tensor:
        nxt = torch.cat([t.narrow(dim, 1, t.shape[dim] - 1), t.narrow(dim, t.shape[dim] - 1, 1)], dim)
        both = torch.stack([t, (t + nxt) * 0.5], dim + 1)
        shape = list(t.shape)
        shape[dim] *= 2
        return both.reshape(shape)
    return along(along(x, 2), 3)


def fuse_hard_activations(nodes: dict[str, dict], consts: dict[str, np.ndarray]) -> dict[str, dict]:
    """Rewrite TF's spelled-out hard-swish, x * relu6(x + 3) * (1/6), and hard-sigmoid, relu6(x + 3) * (1/6),
    as single nodes, so the exported ONNX graph has one HardSwish / HardSigmoid op where TF had four
    (the same arithmetic; the unused pieces are never built)."""
    def const(name: str):
        n = nodes.get(_src(name))
        return float(np.asarray(consts[_src(name)]).ravel()[0]) if n and n["op"] == "Const" and np.asarray(consts[_src(name)]).size == 1 else None

    def relu6_of_plus3(name: str):  # Relu6(Add(x, 3)) -> x
        r = nodes.get(_src(name))
        if not r or r["op"] != "Relu6":
            return None
        a = nodes.get(_src(r["input"][0]))
        if not a or a["op"] != "Add":
            return None
        x, c = a["input"]
        return x if const(c) == 3.0 else (c if const(x) == 3.0 else None)

    out = dict(nodes)
    for name, n in nodes.items():
        if n["op"] != "Mul" or len(n.get("input", [])) != 2:
            continue
        i0, i1 = n["input"]
        # hard-sigmoid: Mul(1/6, Relu6(Add(x, 3)))
        for c, r in ((i0, i1), (i1, i0)):
            if const(c) is not None and abs(const(c) - 1 / 6) < 1e-3 and (x := relu6_of_plus3(r)) is not None:
                out[name] = {"name": name, "op": "HardSigmoid", "input": [x]}
        # hard-swish: Mul(Mul(1/6, x), Relu6(Add(x, 3)))
        for m, r in ((i0, i1), (i1, i0)):
            mn = nodes.get(_src(m))
            x = relu6_of_plus3(r)
            if mn and mn["op"] == "Mul" and x is not None:
                a, b = mn["input"]
                other = b if const(a) is not None and abs(const(a) - 1 / 6) < 1e-3 else (a if const(b) is not None and abs(const(b) - 1 / 6) < 1e-3 else None)
                if other is not None and _src(other) == _src(x):
                    out[name] = {"name": name, "op": "HardSwish", "input": [x]}
    return out


class TFConv(nn.Module):
    """A TF convolution node: SAME/VALID padding, optional bias and fused Relu/Relu6."""

    def __init__(self, node: dict, consts: dict[str, np.ndarray]):
        super().__init__()
        w = consts[_src(node["input"][1])]
        depthwise = "Depthwise" in node["op"]
        kh, kw, cin, cm = w.shape
        stride = _attr(node, "strides")[1]
        if depthwise:  # [kh, kw, cin, 1] -> [cin, 1, kh, kw]
            conv = nn.Conv2d(cin, cin * cm, (kh, kw), stride, groups=cin, bias=True)
            weight = torch.from_numpy(w.transpose(2, 3, 0, 1).reshape(cin * cm, 1, kh, kw).copy())
        else:  # [kh, kw, cin, cout] -> [cout, cin, kh, kw]
            conv = nn.Conv2d(cin, cm, (kh, kw), stride, bias=True)
            weight = torch.from_numpy(w.transpose(3, 2, 0, 1).copy())
        conv.weight.data.copy_(weight)
        fused = _attr(node, "fused_ops") or []
        bias = consts[_src(node["input"][2])] if "BiasAdd" in fused else np.zeros(conv.out_channels, np.float32)
        conv.bias.data.copy_(torch.from_numpy(bias.copy()))
        self.conv, self.k, self.s = conv, kh, stride
        self.same = _attr(node, "padding") == "SAME"
        self.act = "Relu6" if "Relu6" in fused else ("Relu" if "Relu" in fused else "")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            if self.s == 1 and self.k % 2 == 1:
                x = F.conv2d(x, self.conv.weight, self.conv.bias, 1, self.k // 2, 1, self.conv.groups)
            else:
                x = self.conv(_same_pad(x, self.k, self.s))
        else:
            x = self.conv(x)
        if self.act == "Relu":
            return F.relu(x)
        if self.act == "Relu6":
            return F.relu6(x)
        return x


class CenterNet(nn.Module):
    """The TFJS graph as a PyTorch module. Input NCHW, RGB 0-255 float; outputs the requested nodes
    as NCHW tensors (a tuple when several)."""

    def __init__(self, outputs: list[str], folder: Path | None = None, fuse: bool = False):
        super().__init__()
        nodes, consts = read_tfjs(Path(folder) if folder else default_dir())
        if fuse:  # exact 1/6 instead of TF's float16 0.16662598: peaks move by up to ~1e-3
            nodes = fuse_hard_activations(nodes, consts)
        self.outputs = list(outputs)
        order, seen = [], set()

        def visit(name: str) -> None:  # depth-first post-order: dependencies first
            stack = [(name, False)]
            while stack:
                n, done = stack.pop()
                if done:
                    order.append(n)
                    continue
                if n in seen:
                    continue
                seen.add(n)
                stack.append((n, True))
                node = nodes[n]
                if node["op"] in ("Placeholder", "Const"):
                    continue
                for i in node.get("input", []):
                    if not i.startswith("^") and nodes[_src(i)]["op"] != "Const":
                        stack.append((_src(i), False))

        for o in self.outputs:
            visit(o)
        self.order = [n for n in order if nodes[n]["op"] != "Placeholder"]
        self.nodes = {n: nodes[n] for n in self.order}
        self.convs = nn.ModuleDict()
        self.scalars: dict[str, list] = {}
        for n in self.order:
            node = nodes[n]
            if node["op"] in CONV_OPS:
                self.convs[self._key(n)] = TFConv(node, consts)
            else:
                self.scalars[n] = [torch.from_numpy(np.array(consts[_src(i)])).float()
                                   if nodes[_src(i)]["op"] == "Const" else None for i in node.get("input", [])]
        # consumers: free intermediate tensors once their last user has run
        last_use: dict[str, int] = {}
        for k, n in enumerate(self.order):
            for i in nodes[n].get("input", []):
                last_use[_src(i)] = k
        self.last_use = last_use

    @staticmethod
    def _key(name: str) -> str:
        return name.replace("/", "__").replace(".", "_")

    def _run(self, name: str, vals: dict[str, torch.Tensor]) -> torch.Tensor:
        node = self.nodes[name]
        op = node["op"]
        if op in CONV_OPS:
            return self.convs[self._key(name)](vals[_src(node["input"][0])])
        args = [c if c is not None else vals[_src(i)] for i, c in zip(node["input"], self.scalars[name])]
        if op in PASS_THROUGH:
            return args[0]
        if op == "Add":
            return args[0] + args[1]
        if op == "Mul":
            return args[0] * args[1]
        if op == "Relu":
            return F.relu(args[0])
        if op == "Relu6":
            return F.relu6(args[0])
        if op == "Sigmoid":
            return torch.sigmoid(args[0])
        if op == "HardSwish":  # fused from Add(3) -> Relu6 -> Mul(1/6) -> Mul: one ONNX HardSwish op
            return F.hardswish(args[0])
        if op == "HardSigmoid":  # fused from Add(3) -> Relu6 -> Mul(1/6): one ONNX HardSigmoid op
            return F.hardsigmoid(args[0])
        if op == "Mean":  # over H, W (TF axes 1, 2), keep_dims
            axes = [int(a) for a in np.atleast_1d(self.scalars[name][1].numpy())]
            if sorted(axes) != [1, 2]:
                raise ValueError(f"{name}: Mean over axes {axes} is not supported")
            return args[0].mean((2, 3), keepdim=True)
        if op == "ConcatV2":  # TF axis 3 (channels) is NCHW axis 1
            axis = int(self.scalars[name][-1].item())
            if axis not in (3, -1):
                raise ValueError(f"{name}: ConcatV2 along axis {axis} is not supported")
            return torch.cat(args[:-1], 1)
        if op == "ResizeBilinear":
            # the stored size is a constant for a 512 input; every resize in this graph doubles, so
            # follow the input and the module works at any size that is a multiple of 32
            return upsample2x_tf_legacy(args[0])
        raise ValueError(f"{name}: op {op} is not supported by the loader")

    def forward(self, x: torch.Tensor):
        vals: dict[str, torch.Tensor] = {INPUT: x}
        for k, n in enumerate(self.order):
            vals[n] = self._run(n, vals)
            if not self.training:
                for i in self.nodes[n].get("input", []):
                    s = _src(i)
                    if self.last_use.get(s) == k and s not in self.outputs and s != INPUT:
                        vals.pop(s, None)
        out = tuple(vals[o] for o in self.outputs)
        return out[0] if len(out) == 1 else out


def load(outputs: list[str] | str, folder: Path | None = None, fuse: bool = False) -> CenterNet:
    """fuse: hard-swish / hard-sigmoid as single ops (faster ONNX; see fuse_hard_activations)."""
    return CenterNet([outputs] if isinstance(outputs, str) else outputs, folder, fuse)


def reference_check(folder: Path | None = None, grid4: Path | None = None) -> list[dict]:
    """The figures of shared/pretrained/README.md's reference table, computed with this loader:
    per picture, the stride-32 feature mean and the three largest heat-map peaks."""
    import io
    import tarfile
    from PIL import Image

    from .data import shared_data

    names = ["040ca91ce0993cc7ed92.jpg", "02fa1320169a146f82d5.jpg", "0289934c21b391db24d9.jpg"]
    root = grid4 or shared_data() / "grid4-v1"
    pics = {}
    with tarfile.open(root / "grid4-train.tar") as tar:
        for m in tar:
            base = m.name.rsplit("/", 1)[-1]
            if base in names and m.isfile():
                pics[base] = np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB"))
    net = load([STRIDE32, KEYPOINTS], folder).eval()
    out = []
    with torch.no_grad():
        for name in names:
            # the README's figures were made with PIL's bilinear resize to uint8 (matches to 1e-4)
            img = np.asarray(Image.fromarray(pics[name]).resize((512, 512), Image.BILINEAR))
            x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float()
            feat, heat = net(x)
            peaks = heat.amax((2, 3))[0]
            top = torch.topk(peaks, 3)
            out.append({"picture": name, "stride32_mean": float(feat.mean()),
                        "top": [(int(i), float(v)) for v, i in zip(top.values, top.indices)]})
    return out

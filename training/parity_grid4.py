#!/usr/bin/env python3
"""Write the PyTorch side of the Node/PyTorch parity test for the 4x4 picture model (src/model/parity.test.ts).

  /usr/bin/python3 training/parity_grid4.py --run training/runs/grid4-a --checkpoint last.pt --model models/gridlens-grid4
  /usr/bin/python3 training/parity_grid4.py --run training/runs/grid4-coco512   # a train_grid4_coco.py run (head.pt)

Records in test/fixtures/parity/grid4-reference.json the square scores PyTorch gives a few
validation challenges of ../shared/data/grid4-v1 (named, not copied), with the service's
preprocessing (decode, bilinear half-pixel resize of the whole picture, normalise).
"""
import argparse
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gridlens_train import augment, data  # noqa: E402
from gridlens_train.model import build_model  # noqa: E402
from train_grid4 import Grid4Export, Grid4Net, normalise  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True)
    p.add_argument("--checkpoint", default="best.pt")
    p.add_argument("--model", default="models/gridlens-grid4")
    p.add_argument("--count", type=int, default=4)
    args = p.parse_args()
    root = data.project_root()
    manifest = json.loads((root / args.model / "model.json").read_text())
    if (Path(args.run) / "head.pt").exists():  # a run of train_grid4_coco.py: the detector model
        from gridlens_train.detector4 import COCO_OF, DetectorFeatures, Grid4Detector, Grid4Head
        state = torch.load(Path(args.run) / "head.pt", map_location="cpu")
        head = Grid4Head(state["classes"], pooled_for_coco=state.get("pooled_for_coco", True))
        head.load_state_dict(state["head"])
        feats = DetectorFeatures([COCO_OF[c] for c in state["classes"] if c in COCO_OF], state["size"])
        export = Grid4Detector(feats, head, torch.from_numpy(state["a"]), torch.from_numpy(state["b"])).eval()
        state.update(mean=manifest["input"]["mean"], std=manifest["input"]["std"])
    else:
        state = torch.load(Path(args.run) / args.checkpoint, map_location="cpu")
        net = Grid4Net(build_model(state["arch"], len(state["classes"])))
        net.load_state_dict(state["model"])
        export = Grid4Export(net).eval()
    files = (root / args.model / "grid4-validation.txt").read_text().split()[: args.count]
    refs = []
    tar_path = data.shared_data() / "grid4-v1" / "grid4-train.tar"
    with tarfile.open(tar_path) as tar:
        for f in files:
            img = np.asarray(Image.open(io.BytesIO(tar.extractfile(f).read())).convert("RGB"))
            x = normalise(augment.to_float(torch.from_numpy(data.resize_like_service(img, state["size"])[None].copy())), state["mean"], state["std"])
            with torch.no_grad():
                scores = export(x)[0]  # 16 x C
            refs.append({"tar": tar_path.name, "file": f, "scores": [[round(float(v), 6) for v in row] for row in scores]})
    out = root / "test" / "fixtures" / "parity" / "grid4-reference.json"
    out.write_text(json.dumps({"modelSha256": manifest["sha256"], "classes": state["classes"], "pictures": refs}, indent=1) + "\n")
    print(f"wrote {len(refs)} parity pictures to {out}")


if __name__ == "__main__":
    main()

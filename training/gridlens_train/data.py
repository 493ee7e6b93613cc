"""Read the shared data set (tar archives + manifest.csv) into cached uint8 arrays.

The cache lives outside git (``.cache/`` at the project root); it is rebuilt when the
manifest changes. Two arrays per image set:
  * ``x_src``: every image resized to SRC x SRC with PIL bilinear, the source for random crops;
  * ``x_eval``: every image resized straight to the model's input with the same bilinear
    sampling that the Node service uses (torch ``interpolate``, align_corners=False), so that
    validation in Python sees what the service sees.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SRC = 112  # stored size for training crops


@dataclass
class TileSet:
    x_src: np.ndarray  # N,SRC,SRC,3 uint8
    x_eval: np.ndarray  # N,S,S,3 uint8
    rows: list[dict]


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    return Path(os.environ.get("GRIDLENS_DATA", project_root().parent / "shared" / "data"))


def read_manifest(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def resize_like_service(img: np.ndarray, size: int) -> np.ndarray:
    """Bilinear, half-pixel centres, no antialias: the same arithmetic as src/imaging/sample-tiles.ts."""
    t = torch.from_numpy(np.ascontiguousarray(img).copy()).permute(2, 0, 1)[None].float()
    out = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
    return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def iter_tar_images(rows: list[dict], root: Path):
    """(row, RGB uint8 array) for each row, read from its tar (row["tar"], under row["root"] or root),
    tar by tar in member order; rows whose image is missing are simply not yielded."""
    groups: dict[tuple[str, str], dict[str, dict]] = {}
    for r in rows:
        groups.setdefault((str(r.get("root", root)), r["tar"]), {})[r["file"]] = r
    for (tar_root, tar_name), want in sorted(groups.items()):
        with tarfile.open(Path(tar_root) / tar_name) as tar:
            for member in tar:
                r = want.get(member.name)
                if r is not None and member.isfile():
                    yield r, _decode(tar.extractfile(member).read())


def load_images(root: Path, rows: list[dict], size: int, cache_name: str, log=print) -> TileSet:
    src = max(SRC, size)  # crops are taken from at least the model's own resolution
    key = hashlib.sha1(("|".join(r["file"] for r in rows) + f"{size}/{src}").encode()).hexdigest()[:12]
    cache = project_root() / ".cache" / f"{cache_name}-{key}.npz"
    if cache.exists():
        z = np.load(cache)
        return TileSet(z["x_src"], z["x_eval"], rows)
    index = {r["file"]: i for i, r in enumerate(rows)}
    x_src = np.zeros((len(rows), src, src, 3), np.uint8)
    x_eval = np.zeros((len(rows), size, size, 3), np.uint8)
    seen = 0

    def put(i: int, img: np.ndarray) -> None:
        nonlocal seen
        x_src[i] = np.asarray(Image.fromarray(img).resize((src, src), Image.BILINEAR))
        x_eval[i] = resize_like_service(img, size)
        seen += 1
        if seen % 2000 == 0:
            log(f"  decoded {seen}/{len(rows)} {cache_name} images")

    # rows from an exported feedback folder name their image file; the others live in tars
    for i, r in enumerate(rows):
        if r.get("path"):
            put(i, _decode(Path(r["path"]).read_bytes()))
    for r, img in iter_tar_images([r for r in rows if not r.get("path")], root):
        put(index[r["file"]], img)
    if seen != len(rows):
        raise RuntimeError(f"{cache_name}: found {seen} of {len(rows)} manifest images in the tars under {root}")
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x_src=x_src, x_eval=x_eval)
    return TileSet(x_src, x_eval, rows)


def extra_label_rows(labels_dir: Path) -> list[dict]:
    """Labels we made for unlabeled-v1 tiles (data/labels/*.csv: pix_sha1, file, class, method),
    as rows shaped like tiles-v1's manifest so the loader and the split treat them alike."""
    files = sorted(labels_dir.glob("*.csv")) if labels_dir.exists() else []
    if not files:
        return []
    uroot = shared_data() / "unlabeled-v1"
    manifest = {r["file"]: r for r in read_manifest(uroot / "manifest.csv")}
    rows, seen = [], set()
    for f in files:
        for lab in read_manifest(f):
            src = manifest.get(lab["file"])
            if src is None or src["pix_sha1"] != lab["pix_sha1"]:
                raise ValueError(f"{f.name}: {lab['file']} is not in unlabeled-v1 with pix_sha1 {lab['pix_sha1']}")
            if lab["file"] in seen:
                continue
            seen.add(lab["file"])
            rows.append({"file": lab["file"], "tar": src["tar"], "root": str(uroot), "class": lab["class"],
                         "labels": lab["class"], "kind": "recaptcha_tile", "near_cluster": "u:" + src["near_cluster"],
                         "method": lab["method"]})
    return rows


def is_feedback_export(folder: Path) -> bool:
    """A folder written by `gridlens feedback export --out DIR`: labels.csv beside tiles/."""
    return (folder / "labels.csv").is_file() and (folder / "tiles").is_dir()


def feedback_label_rows(folder: Path) -> list[dict]:
    """Tiles labelled from users' reports (`gridlens feedback export`): labels.csv rows of
    pix_sha1,file,class,method,task_id whose file is an image in the folder itself. Shaped like
    tiles-v1's manifest; the nine tiles of one report share a near_cluster, so the split keeps
    them together."""
    rows = []
    for lab in read_manifest(folder / "labels.csv"):
        path = folder / lab["file"]
        if not path.is_file():
            raise ValueError(f"{folder}/labels.csv: {lab['file']} is not in the folder")
        pixels = np.asarray(Image.open(path).convert("RGB"))
        if hashlib.sha1(pixels.tobytes()).hexdigest() != lab["pix_sha1"]:
            raise ValueError(f"{folder}/labels.csv: {lab['file']} does not have pix_sha1 {lab['pix_sha1']}")
        rows.append({"file": f"feedback:{folder.name}/{lab['file']}", "path": str(path), "tar": "", "class": lab["class"],
                     "labels": lab["class"], "kind": "recaptcha_tile", "near_cluster": "f:" + lab["task_id"],
                     "method": lab["method"], "feedback": "1"})
    return rows


def label_source_rows(path: Path) -> list[dict]:
    """One `train.py --labels` source: an exported feedback folder, or a folder of unlabeled-v1 label CSVs."""
    return feedback_label_rows(path) if is_feedback_export(path) else extra_label_rows(path)


def label_sources(labels) -> list[str]:
    """train.py's --labels as a list: None (not given) is data/labels; '' entries mean none; a run
    saved before --labels was repeatable holds one string."""
    if labels is None:
        labels = ["data/labels"]
    elif isinstance(labels, str):
        labels = [labels]
    return [s for s in labels if s]


def apply_corrections(rows: list[dict], path: Path, log=print) -> int:
    """Corrections of tiles-v1's own labels (data/labels/corrections/tiles-v1.csv: pix_sha1, file, from,
    class, labels, method; e.g. a "bus" tile that shows a school bus becomes school_bus, with labels
    school_bus|bus since a school bus is also a bus). The row keeps its original class as split_class, so
    split_by_cluster puts every tile where it was before the correction: a model trained before it is
    still compared on tiles it never saw."""
    if not path.exists():
        return 0
    index = {r["file"]: r for r in rows}
    hist: dict[str, int] = {}
    for c in read_manifest(path):
        r = index.get(c["file"])
        if r is None:
            continue  # drawn away by --limit
        if r.get("pix_sha1") != c["pix_sha1"] or r["class"] != c["from"]:
            raise ValueError(f"{path}: {c['file']} is not a {c['from']} tile of tiles-v1 with pix_sha1 {c['pix_sha1']}")
        r["split_class"], r["class"], r["labels"] = r["class"], c["class"], c["labels"]
        hist[f"{c['from']}->{c['class']}"] = hist.get(f"{c['from']}->{c['class']}", 0) + 1
    n = sum(hist.values())
    log(f"corrected {n} tiles-v1 labels from {path.name}: {hist}")
    return n


CORRECTIONS = "corrections/tiles-v1.csv"


def training_rows(labels, limit: int, seed: int, log=print) -> list[dict]:
    """The labelled rows of a tile run, in train.py's order: tiles-v1, then the label CSV folders,
    drawn down to --limit, then every tile of the feedback exports (never drawn away). The tile export
    and the grid4-scratch training call this with a run's saved arguments to see the same rows. A label folder's
    corrections/tiles-v1.csv corrects tiles-v1's own labels (apply_corrections)."""
    rows = read_manifest(shared_data() / "tiles-v1" / "manifest.csv")
    feedback = []
    for source in label_sources(labels):
        if not is_feedback_export(project_root() / source):
            apply_corrections(rows, project_root() / source / CORRECTIONS, log)
    for source in label_sources(labels):
        extra = label_source_rows(project_root() / source)
        if extra and extra[0].get("feedback"):
            feedback += extra
            hist = {c: sum(r["class"] == c for r in extra) for c in sorted({r["class"] for r in extra})}
            log(f"merged {len(extra)} tiles from the feedback export {source}: {hist}")
        else:
            rows += extra
            if extra:
                log(f"merged {len(extra)} tiles labelled in {source}")
    if limit:
        rng = np.random.default_rng(seed)
        rows = [rows[i] for i in sorted(rng.choice(len(rows), max(0, limit - len(feedback)), replace=False))]
    return rows + feedback


def split_keeping_validation(rows: list[dict], val_files: set[str], fit_fraction: float, seed: int):
    """(train, val, fit) with validation pinned to an earlier model's list (train.py --val-from): every
    row of a near_cluster that holds one of val_files is validation, so a run with more labels is still
    scored on exactly the tiles the earlier model never saw (plus any new near-duplicates of them). The
    other clusters split into fitting and training as split_by_cluster does."""
    val_clusters = {r["near_cluster"] for r in rows if r["file"] in val_files}
    rest = [i for i, r in enumerate(rows) if r["near_cluster"] not in val_clusters]
    val = [i for i, r in enumerate(rows) if r["near_cluster"] in val_clusters and r["kind"] != "web_photo"]
    sub = [rows[i] for i in rest]
    # the fitting share of the remaining clusters: fit_fraction of all clusters, as split_by_cluster takes it
    tr, fi = split_by_cluster(sub, fit_fraction / max(1e-9, 1 - 0.15), seed)
    return sorted(rest[i] for i in tr), sorted(val), sorted(rest[i] for i in fi)


def split_by_cluster(rows: list[dict], val_fraction: float, seed: int, fit_fraction: float = 0.0):
    """Stratified by class, grouped by near_cluster: a cluster lies wholly in train or in val.

    With fit_fraction > 0 a third part, the fitting split (thresholds and calibration, never
    trained on, never reported), is returned too: (train, val, fit). It takes the clusters right
    after validation's in each class's shuffled order, so validation is the same with or without it.

    web_photo rows are stock photos, not reCAPTCHA tiles: training only (data/README.md).
    """
    clusters: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        clusters[r["near_cluster"]].append(i)
    by_class: dict[str, list[str]] = defaultdict(list)
    for cid, members in clusters.items():
        kinds = {rows[i]["kind"] for i in members}
        if kinds == {"web_photo"}:
            by_class["__train_only__"].append(cid)
            continue
        first = rows[members[0]]
        by_class[first.get("split_class", first["class"])].append(cid)  # corrections keep the split
    train, val, fit = [], [], []
    for cls in sorted(by_class):
        cids = sorted(by_class[cls])
        random.Random(f"{seed}:{cls}").shuffle(cids)  # per class: adding a class never reshuffles another
        n_val = 0 if cls == "__train_only__" else max(1, round(len(cids) * val_fraction))
        n_fit = 0 if cls == "__train_only__" or fit_fraction <= 0 else max(1, round(len(cids) * fit_fraction))
        for k, cid in enumerate(cids):
            target = val if k < n_val else fit if k < n_val + n_fit else train
            target.extend(i for i in clusters[cid] if not (target is not train and rows[i]["kind"] == "web_photo"))
    if fit_fraction > 0:
        return sorted(train), sorted(val), sorted(fit)
    return sorted(train), sorted(val)

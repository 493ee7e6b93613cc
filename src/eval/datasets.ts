/** Labelled images for evaluation: a folder per class, or the data set's tar + manifest.csv layout. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from './csv.js';
import { readTar } from './tar.js';

export interface LabelledImage {
  file: string;
  labels: string[];
  bytes: Buffer;
}

const IMAGE = /\.(jpe?g|png|webp|gif)$/i;

/** `only`: a set of file names to keep (e.g. a model's validation list); web_photo rows are training-only and skipped. */
export function loadTiles(dir: string, only?: Set<string>): LabelledImage[] {
  const manifest = path.join(dir, 'manifest.csv');
  if (existsSync(manifest)) {
    const rows = parseCsv(readFileSync(manifest, 'utf8')).filter((r) => r.kind !== 'web_photo' && (!only || only.has(r.file!)));
    const wanted = new Map(rows.map((r) => [r.file!, r]));
    const out: LabelledImage[] = [];
    for (const tar of new Set(rows.map((r) => r.tar!))) {
      for (const e of readTar(path.join(dir, tar))) {
        const r = wanted.get(e.name);
        if (r) out.push({ file: e.name, labels: (r.labels || r.class!).split('|'), bytes: e.data });
      }
    }
    return out.sort((a, b) => a.file.localeCompare(b.file));
  }
  const out: LabelledImage[] = [];
  for (const cls of readdirSync(dir).sort()) {
    const sub = path.join(dir, cls);
    if (!statSync(sub).isDirectory()) continue;
    for (const f of readdirSync(sub).filter((n) => IMAGE.test(n)).sort()) {
      const file = `${cls}/${f}`;
      if (!only || only.has(file)) out.push({ file, labels: [cls], bytes: readFileSync(path.join(sub, f)) });
    }
  }
  return out;
}

/**
 * Our own labels for unlabeled-v1 tiles (data/labels/*.csv: pix_sha1, file, class, method), read
 * from the unlabeled-v1 tars; a label whose pix_sha1 disagrees with the data set's is an error.
 */
export function loadLabelled(labelsDir: string, unlabeledDir: string, only?: Set<string>): LabelledImage[] {
  const manifest = new Map(parseCsv(readFileSync(path.join(unlabeledDir, 'manifest.csv'), 'utf8')).map((r) => [r.file!, r]));
  const wanted = new Map<string, { cls: string; tar: string }>();
  for (const f of readdirSync(labelsDir).filter((n) => n.endsWith('.csv')).sort()) {
    for (const lab of parseCsv(readFileSync(path.join(labelsDir, f), 'utf8'))) {
      const src = manifest.get(lab.file!);
      if (!src || src.pix_sha1 !== lab.pix_sha1) throw new Error(`${f}: ${lab.file} is not in ${unlabeledDir} with pix_sha1 ${lab.pix_sha1}`);
      if ((!only || only.has(lab.file!)) && !wanted.has(lab.file!)) wanted.set(lab.file!, { cls: lab.class!, tar: src.tar! });
    }
  }
  const out: LabelledImage[] = [];
  for (const tar of new Set([...wanted.values()].map((w) => w.tar))) {
    for (const e of readTar(path.join(unlabeledDir, tar))) {
      const w = wanted.get(e.name);
      if (w) out.push({ file: e.name, labels: [w.cls], bytes: e.data });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/**
 * Corrections of tiles-v1's own labels (`<labels>/corrections/tiles-v1.csv`: pix_sha1, file, from,
 * class, labels, method), applied to tiles loaded by loadTiles: e.g. a "bus" tile that shows a school
 * bus gets labels school_bus|bus. A row that names a tile of another class or pixels is an error.
 * Returns how many loaded tiles changed.
 */
export function applyCorrections(images: LabelledImage[], correctionsCsv: string, tilesDir: string): number {
  if (!existsSync(correctionsCsv)) return 0;
  const manifest = new Map(parseCsv(readFileSync(path.join(tilesDir, 'manifest.csv'), 'utf8')).map((r) => [r.file!, r]));
  const byFile = new Map(images.map((im) => [im.file, im]));
  let n = 0;
  for (const c of parseCsv(readFileSync(correctionsCsv, 'utf8'))) {
    const src = manifest.get(c.file!);
    if (!src || src.pix_sha1 !== c.pix_sha1 || src.class !== c.from) throw new Error(`${correctionsCsv}: ${c.file} is not a ${c.from} tile of ${tilesDir} with pix_sha1 ${c.pix_sha1}`);
    const im = byFile.get(c.file!);
    if (!im) continue;
    im.labels = c.labels!.split('|');
    n += 1;
  }
  return n;
}

export interface Grid4Challenge {
  file: string;
  question: string;
  cells: number[];
  bytes: Buffer;
}

/** grid4-v1 layout: labels.csv (file, question, cells) plus the images in *.tar files or loose in the folder. */
export function loadGrid4(dir: string, only?: Set<string>): Grid4Challenge[] {
  const rows = parseCsv(readFileSync(path.join(dir, 'labels.csv'), 'utf8')).filter((r) => !only || only.has(r.file!));
  const bytes = new Map<string, Buffer>();
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.tar')) for (const e of readTar(path.join(dir, f))) bytes.set(path.basename(e.name), e.data);
    else if (IMAGE.test(f)) bytes.set(f, readFileSync(path.join(dir, f)));
  }
  return rows.map((r) => {
    const data = bytes.get(path.basename(r.file!));
    if (!data) throw new Error(`${r.file} is in labels.csv but not in ${dir}`);
    const cells = r.cells!.trim() === '' ? [] : r.cells!.split(',').map((c) => Number.parseInt(c, 10));
    return { file: r.file!, question: r.question!, cells, bytes: data };
  });
}

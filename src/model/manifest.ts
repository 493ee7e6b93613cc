/**
 * model.json: everything the service knows about a model comes from here (input size,
 * normalisation, classes, the questions each class answers, calibrated thresholds, which
 * grids it serves). The ONNX file is checked against its recorded sha256 before loading.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GRID_KINDS, type GridKind } from '../imaging/grid.js';

export interface ModelManifest {
  format: 'gridlens-model/1';
  name: string;
  version: string;
  file: string;
  sha256: string;
  /**
   * unit "tile" (the default): one image per cell, the output one row of class scores per cell.
   * unit "picture": the whole picture resized to size x size, the output one row per cell of the
   * grids it serves (row-major), e.g. 16 rows for a 4x4 model (training/train.py --kind grid4).
   */
  input: { name: string; size: number; layout: 'NCHW'; mean: number[]; std: number[]; resize: 'bilinear-half-pixel'; unit?: 'tile' | 'picture' };
  output: { name: string; activation: 'sigmoid' | 'softmax' };
  classes: string[];
  /** Question IDs each class answers. A class with no IDs (e.g. "other") answers none. */
  questions: Record<string, string[]>;
  /** Per-class score threshold for 1x1 hasObject (and 4x4 squares), calibrated on validation. */
  thresholds: Record<string, number>;
  /** Classes this model answers on each grid kind. */
  grids: Partial<Record<GridKind, string[]>>;
  /**
   * How a tile model answers 4x4 pictures: each square's window widened by `context` around its
   * centre, and per-class thresholds fitted on labelled 4x4 challenges (`gridlens calibrate-grid4`).
   */
  grid4?: { context: number; thresholds: Record<string, number>; fittedOn?: string };
  /**
   * Classes whose score also counts for another class's questions, because one is a kind of the
   * other: `{ "bus": ["school_bus"] }` answers a bus question with P(bus) + P(school bus), capped at 1
   * (softmax scores of exclusive classes add). See questionScore.
   */
  includes?: Record<string, string[]>;
  data?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

export interface LoadedModel {
  dir: string;
  manifest: ModelManifest;
  onnxPath: string;
}

function fail(dir: string, what: string): never {
  throw new Error(`model.json in ${dir}: ${what}`);
}

function check(m: ModelManifest, dir: string): void {
  if (m.format !== 'gridlens-model/1') fail(dir, `format must be "gridlens-model/1", got ${JSON.stringify(m.format)}`);
  if (!Array.isArray(m.classes) || m.classes.length === 0) fail(dir, 'classes must be a non-empty array');
  if (!(m.input?.size > 0) || m.input.mean?.length !== 3 || m.input.std?.length !== 3) fail(dir, 'input needs size, mean[3] and std[3]');
  if (m.input.layout !== 'NCHW' || m.input.resize !== 'bilinear-half-pixel') fail(dir, 'input.layout must be NCHW and input.resize bilinear-half-pixel');
  if (m.input.unit !== undefined && m.input.unit !== 'tile' && m.input.unit !== 'picture') fail(dir, `input.unit must be "tile" or "picture", got ${JSON.stringify(m.input.unit)}`);
  if (m.input.unit === 'picture' && Object.keys(m.grids ?? {}).some((g) => g !== '4x4')) fail(dir, 'a picture model (input.unit "picture") serves grids.4x4 only');
  for (const c of m.classes) {
    if (typeof m.thresholds?.[c] !== 'number') fail(dir, `thresholds.${c} is missing`);
    if (!Array.isArray(m.questions?.[c])) fail(dir, `questions.${c} must be an array of question IDs`);
  }
  for (const [c, inc] of Object.entries(m.includes ?? {})) {
    if (!m.classes.includes(c)) fail(dir, `includes.${c}: ${c} is not one of the classes`);
    if (!Array.isArray(inc) || inc.some((x) => !m.classes.includes(x) || x === c)) fail(dir, `includes.${c} must list other classes of the model (classes: ${m.classes.join(', ')})`);
  }
  for (const [grid, classes] of Object.entries(m.grids ?? {})) {
    if (!(GRID_KINDS as readonly string[]).includes(grid)) fail(dir, `grids.${grid}: allowed kinds are ${GRID_KINDS.join(', ')}`);
    for (const c of classes ?? []) if (!m.classes.includes(c)) fail(dir, `grids.${grid} names unknown class ${c}`);
  }
}

export function loadModel(dir: string): LoadedModel {
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelManifest;
  } catch (err) {
    throw new Error(`cannot read ${path.join(dir, 'model.json')}: ${(err as Error).message}`);
  }
  check(manifest, dir);
  const onnxPath = path.join(dir, manifest.file);
  const digest = createHash('sha256').update(readFileSync(onnxPath)).digest('hex');
  if (digest !== manifest.sha256) fail(dir, `sha256 of ${manifest.file} is ${digest}, manifest says ${manifest.sha256}`);
  return { dir, manifest, onnxPath };
}

/**
 * The score of a class's question for one tile (or square) from the model's row of class scores:
 * the class's own score plus those of the classes it includes (manifest.includes), capped at 1.
 */
export function questionScore(m: ModelManifest, row: ArrayLike<number>, cls: string): number {
  let s = row[m.classes.indexOf(cls)]!;
  for (const inc of m.includes?.[cls] ?? []) s += row[m.classes.indexOf(inc)]!;
  return Math.min(1, s);
}

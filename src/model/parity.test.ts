/**
 * Node preprocessing + onnxruntime-node give the scores PyTorch gives (reference written by
 * training/parity.py for the shipped models: --kind tiles, the default, and --kind grid4).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT, loadConfig } from '../config.js';
import { startSolver } from '../app.js';
import { readPicture } from '../imaging/decode.js';
import { sampleTiles } from '../imaging/sample-tiles.js';
import { readTar } from '../eval/tar.js';

const DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'parity');
const TILES = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'tiles-v1');

interface Reference { modelSha256: string; classes: string[]; images: { tar: string; file: string; class: string; scores: number[] }[] }

function tileBytes(tar: string, file: string): Buffer {
  for (const e of readTar(path.join(TILES, tar))) if (e.name === file) return e.data;
  throw new Error(`${file} not in ${tar}`);
}

it('shipped model: Node scores match PyTorch scores within 0.01', { skip: !existsSync(TILES) && 'no ../shared/data/tiles-v1' }, async () => {
  const ref = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Reference;
  const solver = await startSolver(loadConfig({ inferenceWorkers: 1 }, {}));
  try {
    const { model, pool } = solver.modelFor('1x1');
    assert.equal(model.manifest.sha256, ref.modelSha256, 'reference is for another model: run training/parity.py (see training/README.md)');
    assert.deepEqual(model.manifest.classes, ref.classes);
    let worst = 0;
    for (const img of ref.images) {
      const pic = await readPicture(tileBytes(img.tar, img.file), undefined, 1e6);
      const { scores } = await pool.infer(sampleTiles(pic.raw, pic.side, 1, model.manifest.input), 1);
      img.scores.forEach((s, k) => { worst = Math.max(worst, Math.abs(s - scores[k]!)); });
      assert.equal(scores.indexOf(Math.max(...scores)), img.scores.indexOf(Math.max(...img.scores)), `${img.file}: same top class`);
    }
    assert.ok(worst < 0.01, `largest score difference ${worst}`);
    console.log(`parity: largest score difference ${worst.toExponential(2)} over ${ref.images.length} tiles x ${ref.classes.length} classes`);
  } finally {
    await Promise.all(solver.models().map((m) => m.pool.close()));
  }
});

const GRID4 = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'grid4-v1');
const GRID4_REF = path.join(DIR, 'grid4-reference.json');

interface Grid4Reference { modelSha256: string; classes: string[]; pictures: { tar: string; file: string; scores: number[][] }[] }

it('shipped 4x4 model: Node square scores match PyTorch within 0.01', { skip: (!existsSync(GRID4) && 'no ../shared/data/grid4-v1') || (!existsSync(GRID4_REF) && 'no 4x4 picture model shipped') }, async () => {
  const ref = JSON.parse(readFileSync(GRID4_REF, 'utf8')) as Grid4Reference;
  const solver = await startSolver(loadConfig({ inferenceWorkers: 1 }, {}));
  try {
    const { model, pool } = solver.modelFor('4x4');
    assert.equal(model.manifest.input.unit, 'picture', 'MODEL_DIR_4X4 serves the 4x4 picture model');
    assert.equal(model.manifest.sha256, ref.modelSha256, 'reference is for another model: run training/parity.py --kind grid4 (see training/README.md)');
    const n = ref.classes.length;
    let worst = 0;
    for (const pic of ref.pictures) {
      let bytes: Buffer | undefined;
      for (const e of readTar(path.join(GRID4, pic.tar))) if (e.name === pic.file) bytes = e.data;
      const p = await readPicture(bytes!, '4x4', 1e6);
      const { scores } = await pool.infer(sampleTiles(p.raw, p.side, 1, model.manifest.input), 1);
      assert.equal(scores.length, 16 * n);
      pic.scores.forEach((row, cell) => row.forEach((s, k) => { worst = Math.max(worst, Math.abs(s - scores[cell * n + k]!)); }));
    }
    assert.ok(worst < 0.01, `largest score difference ${worst}`);
    console.log(`4x4 parity: largest score difference ${worst.toExponential(2)} over ${ref.pictures.length} pictures x 16 squares x ${n} classes`);
  } finally {
    await Promise.all(solver.models().map((m) => m.pool.close()));
  }
});

/** model.json's `includes`: a question answered by several classes' scores, and a manifest that names a class it lacks is refused. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from '../config.js';
import { loadModel, questionScore, type ModelManifest } from './manifest.js';

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tiny-model');

it('answers a class question with its own score plus the scores of the classes it includes, capped at 1', () => {
  const m = { classes: ['bus', 'car', 'school_bus'], includes: { bus: ['school_bus'] } } as unknown as ModelManifest;
  assert.equal(questionScore(m, [0.2, 0.1, 0.5], 'bus'), 0.7);
  assert.equal(questionScore(m, [0.2, 0.1, 0.5], 'school_bus'), 0.5, 'inclusion goes one way: a bus is not a school bus');
  assert.equal(questionScore(m, [0.2, 0.1, 0.5], 'car'), 0.1);
  assert.equal(questionScore(m, [0.7, 0.0, 0.6], 'bus'), 1);
  assert.equal(questionScore({ classes: ['bus', 'school_bus'] } as unknown as ModelManifest, [0.2, 0.5], 'bus'), 0.2, 'no includes: the class alone');
});

it('refuses includes that name a class the model does not have', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-manifest-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelManifest;
  const [a, b] = m.classes;
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...m, includes: { [a!]: ['taxi_boat'] } }));
  assert.throws(() => loadModel(dir), /includes\..* must list other classes of the model/);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...m, includes: { [a!]: [b!] } }));
  assert.deepEqual(loadModel(dir).manifest.includes, { [a!]: [b!] });
});

/** A smaller seeded run of bench/grid-detect.ts on the real pictures: the targets of docs/grid-detection.md. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from '../src/config.js';
import { loadSources, measure } from './grid-detect.js';

const DATA = path.join(PROJECT_ROOT, '..', 'shared', 'data');
const missing = !existsSync(path.join(DATA, 'tiles-v1', 'manifest.csv')) || !existsSync(path.join(DATA, 'grid4-v1', 'grid4-train.tar'));

it('finds kind (≥ 99%) and crop within 2 px (≥ 98%) on 60 seeded screenshots, and no grid in 30 plain pictures', { skip: missing && `${DATA} missing (tiles-v1, grid4-v1)`, timeout: 120_000 }, async () => {
  const src = await loadSources(DATA, 200, 7);
  const f = await measure(src, 60, 30, 7);
  assert.ok(f.kindRight / f.screenshots >= 0.99, `kind right ${f.kindRight}/${f.screenshots}: ${f.failures.join('; ')}`);
  assert.ok(f.cropWithin2 / f.screenshots >= 0.98, `crop within 2 px ${f.cropWithin2}/${f.screenshots}: ${f.failures.join('; ')}`);
  assert.equal(f.plainFalseGrid, 0, f.failures.join('; '));
});

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { select3x3, selectAbove } from './select-cells.js';

it('select3x3: top three by score without confidence, sorted by index', () => {
  assert.deepEqual(select3x3([0.1, 0.9, 0.2, 0.8, 0.0, 0.7, 0.3, 0.1, 0.05], undefined), [1, 3, 5]);
});

it('select3x3: every cell at or above confidence, possibly none', () => {
  const s = [0.5, 0.49, 0.51, 0, 0, 0, 0, 0, 0.99];
  assert.deepEqual(select3x3(s, 0.5), [0, 2, 8]);
  assert.deepEqual(select3x3(s, 0.995), []);
  assert.deepEqual(select3x3(s, 0), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

it('selectAbove: threshold inclusive', () => {
  assert.deepEqual(selectAbove([0.3, 0.31, 0.2, 0.9], 0.31), [1, 3]);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleTiles } from './sample-tiles.js';

const ID = { mean: [0, 0, 0], std: [1, 1, 1] };

describe('sampleTiles', () => {
  it('keeps a flat tile flat and normalises it', () => {
    const raw = new Uint8Array(100 * 100 * 3).fill(51);
    const out = sampleTiles(raw, 100, 1, { size: 8, mean: [0.1, 0.1, 0.1], std: [0.5, 0.5, 0.5] });
    assert.equal(out.length, 3 * 64);
    for (const v of out) assert.ok(Math.abs(v - (0.2 - 0.1) / 0.5) < 1e-6);
  });

  it('lays tiles out in reading order, channels planar (NCHW)', () => {
    const side = 300;
    const raw = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
      const tile = Math.floor(y / 100) * 3 + Math.floor(x / 100);
      raw.set([tile * 10, 200, 255 - tile], (y * side + x) * 3);
    }
    const out = sampleTiles(raw, side, 3, { size: 4, ...ID });
    for (let t = 0; t < 9; t++) {
      const base = t * 3 * 16;
      assert.ok(Math.abs(out[base]! - (t * 10) / 255) < 1e-6, `tile ${t} red`);
      assert.ok(Math.abs(out[base + 16]! - 200 / 255) < 1e-6, `tile ${t} green`);
      assert.ok(Math.abs(out[base + 32]! - (255 - t) / 255) < 1e-6, `tile ${t} blue`);
    }
  });

  it('matches half-pixel bilinear (torch interpolate, align_corners=False) on a gradient', () => {
    // 4 px wide ramp 0, 60, 120, 180 downscaled to 2: sources at x = 0.5 and 2.5 -> 30 and 150
    const raw = new Uint8Array(4 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) raw.fill(x * 60, (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
    const out = sampleTiles(raw, 4, 1, { size: 2, ...ID });
    assert.deepEqual(Array.from(out.subarray(0, 4)).map((v) => Math.round(v * 255)), [30, 150, 30, 150]);
  });

  it('never reads across a tile edge (4x4 squares of 112.5 px)', () => {
    const side = 450;
    const raw = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) if (Math.floor(x / 112.5) === 1) raw.fill(255, (y * side + x) * 3, (y * side + x) * 3 + 3);
    const out = sampleTiles(raw, side, 4, { size: 16, ...ID });
    const plane = 16 * 16;
    const tile0 = out.subarray(0, 3 * plane);
    assert.ok(Math.max(...tile0) < 0.01, 'square 0 is black up to its edge');
    assert.ok(Math.min(...out.subarray(3 * plane, 6 * plane)) > 0.99, 'square 1 is white');
  });
});

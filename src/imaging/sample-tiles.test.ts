import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleTiles } from './sample-tiles.js';

/** The four-tap formula, written plainly (the sampler before it became separable), for one tile window. */
function fourTap(raw: Uint8Array, side: number, rows: number, size: number, context = 1): Float32Array {
  const out = new Float32Array(rows * rows * 3 * size * size);
  const tile = side / rows;
  const window = (t: number) => {
    const centre = (t + 0.5) * tile;
    const start = Math.max(0, centre - (tile * context) / 2);
    const end = Math.min(side, centre + (tile * context) / 2);
    return { start, end, lo: Math.floor(start), hi: Math.ceil(end) - 1 };
  };
  const src = (w: ReturnType<typeof window>, o: number) => Math.min(Math.max(w.start + ((o + 0.5) * (w.end - w.start)) / size - 0.5, w.lo), w.hi);
  let n = 0;
  for (let tr = 0; tr < rows; tr++) for (let tc = 0; tc < rows; tc++) {
    const wy = window(tr);
    const wx = window(tc);
    for (let c = 0; c < 3; c++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const sy = src(wy, y);
      const sx = src(wx, x);
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const y1 = Math.min(y0 + 1, wy.hi);
      const x1 = Math.min(x0 + 1, wx.hi);
      const fy = sy - y0;
      const fx = sx - x0;
      const at = (yy: number, xx: number) => raw[(yy * side + xx) * 3 + c]!;
      const v = at(y0, x0) * (1 - fx) * (1 - fy) + at(y0, x1) * fx * (1 - fy) + at(y1, x0) * (1 - fx) * fy + at(y1, x1) * fx * fy;
      out[n++] = Math.floor(v + 0.5) / 255;
    }
  }
  return out;
}

function noise(side: number, seed: number): Uint8Array {
  const raw = new Uint8Array(side * side * 3);
  let s = seed;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    raw[i] = s >>> 24;
  }
  return raw;
}

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

  it('is the four-tap formula bit for bit on the shipped sizes (3x3 to 128 px, 450 px pictures to 384)', () => {
    for (const [side, rows, size] of [[300, 3, 128], [100, 1, 128], [450, 1, 384], [450, 1, 512]] as const) {
      const raw = noise(side, side + size);
      const got = sampleTiles(raw, side, rows, { size, ...ID });
      const want = fourTap(raw, side, rows, size);
      assert.equal(got.length, want.length);
      let diff = 0;
      for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) diff += 1;
      assert.equal(diff, 0, `${side} px, ${rows}x${rows}, to ${size}: ${diff} values differ`);
    }
  });

  it('stays within one grey level of it elsewhere (4x4 squares with context 1.5, downscaling to 96)', () => {
    for (const [side, rows, size, context] of [[450, 4, 128, 1.5], [300, 3, 96, 1]] as const) {
      const raw = noise(side, 7);
      const got = sampleTiles(raw, side, rows, { size, ...ID }, context);
      const want = fourTap(raw, side, rows, size, context);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      assert.ok(worst <= 1 / 255 + 1e-6, `${side}/${rows}/${size}/${context}: ${worst * 255} grey levels`);
    }
  });

  it('writes into a given array of the right length, every element, and ignores one of another length', () => {
    const a = noise(300, 3);
    const b = noise(300, 4);
    const into = sampleTiles(a, 300, 3, { size: 32, ...ID });
    const again = sampleTiles(b, 300, 3, { size: 32, ...ID }, 1, into);
    assert.equal(again, into, 'the same array comes back');
    assert.deepEqual(again, sampleTiles(b, 300, 3, { size: 32, ...ID }), 'nothing of the first picture is left');
    const short = new Float32Array(10);
    const fresh = sampleTiles(b, 300, 3, { size: 32, ...ID }, 1, short);
    assert.notEqual(fresh, short);
    assert.equal(fresh.length, 9 * 3 * 32 * 32);
    assert.ok(short.every((v) => v === 0), 'a wrong-length array is left alone');
  });
});

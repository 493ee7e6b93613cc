/**
 * Cut a square RGB raster into rows x rows tiles and resample each to the model's input, in
 * one pass, straight into a normalised NCHW float tensor.
 *
 * Bilinear with half-pixel centres, clamped at each tile's edge and without antialiasing:
 * exactly torch.nn.functional.interpolate(mode="bilinear", align_corners=False) applied to
 * each tile (training/gridlens_train/data.py:resize_like_service), so Python validation
 * sees what the service sees. One sharp call per tile would cost 9-15 ms per 3x3
 * (shared/docs/measured-here.md); this loop costs well under a millisecond.
 */
export interface Normalisation {
  size: number;
  mean: readonly number[];
  std: readonly number[];
}

interface Axis {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

const axes = new Map<string, Axis>();

/**
 * Source indices and weights along one axis for every (tile, output pixel). `context` > 1 widens
 * each tile's window around its centre (clamped to the picture), so a 4x4 square can be scored
 * with some of its neighbourhood in view; 1 samples exactly the tile.
 */
function axisFor(side: number, rows: number, size: number, context: number): Axis {
  const key = `${side}/${rows}/${size}/${context}`;
  const hit = axes.get(key);
  if (hit) return hit;
  const tile = side / rows;
  const n = rows * size;
  const axis: Axis = { i0: new Int32Array(n), i1: new Int32Array(n), w1: new Float32Array(n) };
  for (let t = 0; t < rows; t++) {
    const centre = (t + 0.5) * tile;
    const start = Math.max(0, centre - (tile * context) / 2);
    const end = Math.min(side, centre + (tile * context) / 2);
    const lo = Math.floor(start);
    const hi = Math.ceil(end) - 1;
    for (let o = 0; o < size; o++) {
      const src = Math.min(Math.max(start + ((o + 0.5) * (end - start)) / size - 0.5, lo), hi);
      const f = Math.floor(src);
      const k = t * size + o;
      axis.i0[k] = f;
      axis.i1[k] = Math.min(f + 1, hi);
      axis.w1[k] = src - f;
    }
  }
  axes.set(key, axis);
  return axis;
}

/**
 * Separable: each source row a tile needs is interpolated along x once (kept while the next output
 * rows still use it), then each output row blends two such rows along y. On the shipped sizes
 * (100 px tiles to 128, 450 px pictures to 384) every weight is a multiple of 1/128 or 1/64, so both
 * passes are exact in float64 and the result is bit for bit the four-tap formula's; elsewhere the two
 * sums can differ in their last bits, which after rounding to a grey level moves a value that lies
 * exactly on a half by one level (tested: never more).
 *
 * `into`, when it has exactly the tensor's length, is written over (every element) and returned
 * instead of a new array: an inference worker reuses one input tensor per shape, since a fresh
 * 1.8 MB array per 4x4 picture costs page faults on every request.
 */
export function sampleTiles(raw: Uint8Array, side: number, rows: number, norm: Normalisation, context = 1, into?: Float32Array): Float32Array {
  const { size } = norm;
  const ax = axisFor(side, rows, size, context);
  const plane = size * size;
  const length = rows * rows * 3 * plane;
  const out = into?.length === length ? into : new Float32Array(length);
  const [sr, sg, sb] = [0, 1, 2].map((c) => 1 / (255 * norm.std[c]!)) as [number, number, number];
  const [mr, mg, mb] = [0, 1, 2].map((c) => norm.mean[c]! / norm.std[c]!) as [number, number, number];
  const stride = side * 3;
  const line = size * 3;
  // two source rows interpolated along x, reused while consecutive output rows share them
  let a = new Float64Array(line);
  let b = new Float64Array(line);
  for (let tr = 0; tr < rows; tr++) {
    for (let tc = 0; tc < rows; tc++) {
      let rowA = -1;
      let rowB = -1;
      const along = (buf: Float64Array, r: number): void => {
        const base = r * stride;
        for (let x = 0, j = 0; x < size; x++, j += 3) {
          const kx = tc * size + x;
          const c0 = base + ax.i0[kx]! * 3;
          const c1 = base + ax.i1[kx]! * 3;
          const wx = ax.w1[kx]!;
          buf[j] = raw[c0]! + wx * (raw[c1]! - raw[c0]!);
          buf[j + 1] = raw[c0 + 1]! + wx * (raw[c1 + 1]! - raw[c0 + 1]!);
          buf[j + 2] = raw[c0 + 2]! + wx * (raw[c1 + 2]! - raw[c0 + 2]!);
        }
      };
      let o = (tr * rows + tc) * 3 * plane;
      for (let y = 0; y < size; y++) {
        const ky = tr * size + y;
        const r0 = ax.i0[ky]!;
        const r1 = ax.i1[ky]!;
        const wy = ax.w1[ky]!;
        // a holds row r0, b row r1 (rows only move down as y grows)
        if (rowA !== r0) {
          if (rowB === r0) {
            [a, b] = [b, a];
            rowB = -1;
          } else along(a, r0);
          rowA = r0;
        }
        if (rowB !== r1) {
          if (r1 === r0) b.set(a);
          else along(b, r1);
          rowB = r1;
        }
        for (let j = 0; j < line; j += 3, o++) {
          // + 0.5 and truncation: round half up, as the uint8 cast after torch's interpolate
          const r = Math.floor(a[j]! + wy * (b[j]! - a[j]!) + 0.5);
          const g = Math.floor(a[j + 1]! + wy * (b[j + 1]! - a[j + 1]!) + 0.5);
          const bl = Math.floor(a[j + 2]! + wy * (b[j + 2]! - a[j + 2]!) + 0.5);
          out[o] = r * sr - mr;
          out[o + plane] = g * sg - mg;
          out[o + 2 * plane] = bl * sb - mb;
        }
      }
    }
  }
  return out;
}

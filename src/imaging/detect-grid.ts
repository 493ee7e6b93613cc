/**
 * Find a reCAPTCHA grid in a screenshot from its white separators. The widget draws white lines
 * (2-4 px at 300 px) between the cells of a 3x3 or 4x4 challenge; a screenshot may carry margins
 * (white, grey, the blue prompt header). A separator is a band of near-white columns (or rows)
 * whose white run spans the whole grid, away from the picture's edge; the grid is the set of
 * N-1 equally spaced bands in both directions whose runs cover each other's extent, with no
 * other full-length band inside it. Works on raw pixels (sharp's raw output).
 */
export interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** The cells and the separators between them, in the screenshot's pixels (right/bottom exclusive). */
export interface GridBox {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface GridGeometry {
  rows: 3 | 4;
  box: GridBox;
  /** Separator width in px (0 when the grid was not found but assumed to fill the picture). */
  separator: number;
}

/** A pixel is "white" when its darkest channel is at least this bright and it is nearly grey. */
const LIGHT_MIN = 196;
const CHROMA_MAX = 40;
/** Dark pixels tolerated inside a white run (JPEG ringing next to dark content). */
const GAP = 2;
/** A grid fills at least this share of the screenshot's shorter side. */
const MIN_SHARE = 0.45;
/** More candidate bands than this: a mostly white picture, not a grid. */
const MAX_BANDS = 16;

interface Run { start: number; end: number }
/** Lines a..b (inclusive); `edge`: touches the picture's border (a margin, maybe merged with a separator through white content). */
interface Band { a: number; b: number; run: Run; edge: boolean }
interface AxisFit { rows: 3 | 4; start: number; end: number; pitch: number; separator: number; bands: Band[]; cost: number }

function whiteMask(img: Raster): Uint8Array {
  const { data, width, height, channels } = img;
  const mask = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < mask.length; i++, p += channels) {
    const r = data[p]!, g = data[p + 1]!, b = data[p + 2]!;
    const lo = Math.min(r, g, b);
    mask[i] = lo >= LIGHT_MIN && Math.max(r, g, b) - lo <= CHROMA_MAX ? 1 : 0;
  }
  return mask;
}

/** Longest run of white along line `i` (a column when `vertical`), bridging gaps of up to GAP px. */
function longestRun(mask: Uint8Array, width: number, height: number, i: number, vertical: boolean): Run {
  const n = vertical ? height : width;
  let best: Run = { start: 0, end: -1 };
  let start = -1;
  let lastWhite = -1;
  for (let k = 0; k < n; k++) {
    const white = mask[vertical ? k * width + i : i * width + k] === 1;
    if (!white) {
      if (start >= 0 && k - lastWhite > GAP) start = -1;
      continue;
    }
    if (start < 0) start = k;
    lastWhite = k;
    if (k - start > best.end - best.start) best = { start, end: k };
  }
  return best;
}

/** Contiguous lines whose white run is long enough, as bands. */
function bandsOf(mask: Uint8Array, width: number, height: number, vertical: boolean, minRun: number): Band[] | undefined {
  const n = vertical ? width : height;
  const bands: Band[] = [];
  let open: Band | undefined;
  for (let i = 0; i <= n; i++) {
    const run = i < n ? longestRun(mask, width, height, i, vertical) : undefined;
    if (run && run.end - run.start + 1 >= minRun) {
      if (open) {
        open.b = i;
        // the band's best line: its edge lines blend with the content next to it
        if (run.end - run.start > open.run.end - open.run.start) open.run = run;
      } else open = { a: i, b: i, run, edge: i === 0 };
    } else if (open) {
      if (open.b === n - 1) open.edge = true;
      bands.push(open);
      open = undefined;
    }
  }
  return bands.length > MAX_BANDS ? undefined : bands;
}

function* subsets<T>(items: readonly T[], k: number, from = 0): Generator<T[]> {
  if (k === 0) return yield [];
  for (let i = from; i <= items.length - k; i++) for (const rest of subsets(items, k - 1, i + 1)) yield [items[i]!, ...rest];
}

/**
 * N-1 equally spaced bands along one axis: the grid's extent on it. White content next to a
 * separator (an overcast sky) widens its band, so only the narrowest bands ("tight": within 2 px
 * of the narrowest) place the separators, by a least-squares fit of their centres; a wide band
 * only has to contain its separator. With one tight band the pitch comes from the other axis
 * (`pitchHint`; cells are square).
 */
function fitAxis(bands: Band[], rows: 3 | 4, length: number, pitchHint?: number): AxisFit[] {
  const fits: AxisFit[] = [];
  for (const chosen of subsets(bands, rows - 1)) {
    const inner = chosen.filter((b) => !b.edge);
    if (inner.length === 0) continue;
    const separator = Math.min(...inner.map((b) => b.b - b.a + 1));
    const tight = chosen.flatMap((b, i) => (!b.edge && b.b - b.a + 1 <= separator + 2 ? [{ i: i + 1, mid: (b.a + b.b + 1) / 2 }] : []));
    const mi = tight.reduce((s, t) => s + t.i, 0) / tight.length;
    const mm = tight.reduce((s, t) => s + t.mid, 0) / tight.length;
    const pitch = tight.length >= 2 ? tight.reduce((s, t) => s + (t.i - mi) * (t.mid - mm), 0) / tight.reduce((s, t) => s + (t.i - mi) ** 2, 0) : pitchHint;
    if (pitch === undefined || !(pitch > 4 * separator) || pitch < 8) continue;
    const cost = tight.reduce((s, t) => s + Math.abs(t.mid - (mm + (t.i - mi) * pitch)), 0) / pitch;
    if (cost > 0.04 * Math.max(1, tight.length - 1)) continue;
    // centre of separator i (1-based) = start + i * pitch - separator / 2
    const start = mm - mi * pitch + separator / 2;
    const end = start + rows * pitch - separator;
    const tol = Math.max(2, 0.03 * pitch);
    if (start < -tol || end > length + tol) continue;
    const holds = chosen.every((b, i) => {
      const centre = start + (i + 1) * pitch - separator / 2;
      return centre - separator / 2 >= b.a - tol && centre + separator / 2 <= b.b + 1 + tol;
    });
    if (holds) fits.push({ rows, start, end, pitch, separator, bands: chosen, cost: cost + (tight.length < 2 ? 0.5 : 0) });
  }
  return fits;
}

/** Each chosen band's white run covers the other axis's extent, and no other separator-like band (tight, spanning) lies inside the grid. */
function consistent(along: AxisFit, across: AxisFit, all: Band[]): boolean {
  const tol = Math.max(3, 0.05 * across.pitch);
  const spans = (b: Band) => b.run.start <= across.start + tol && b.run.end >= across.end - 1 - tol;
  if (!along.bands.every(spans)) return false;
  return !all.some((b) => !along.bands.includes(b) && b.a > along.start + tol && b.b < along.end - tol && b.b - b.a + 1 <= along.separator + 2 && spans(b));
}

/**
 * The grid in a screenshot, or undefined when no grid of white separators is found (a plain
 * picture, a single tile). `rows` restricts the search to one kind (the prompt or task.grid said which).
 */
export function detectGrid(img: Raster, rows?: 3 | 4): GridGeometry | undefined {
  const { width, height } = img;
  const minRun = Math.floor(MIN_SHARE * Math.min(width, height));
  if (minRun < 24) return undefined;
  const mask = whiteMask(img);
  const cols = bandsOf(mask, width, height, true, minRun);
  const lines = bandsOf(mask, width, height, false, minRun);
  if (!cols || !lines) return undefined;
  let best: { x: AxisFit; y: AxisFit; cost: number } | undefined;
  for (const n of rows ? [rows] : ([3, 4] as const)) {
    const xs = fitAxis(cols, n, width);
    const ys = fitAxis(lines, n, height);
    // an axis whose bands are all but one widened by white content borrows the other's pitch
    const pairs = [
      ...xs.flatMap((x) => [...ys, ...fitAxis(lines, n, height, x.pitch).filter((y) => !ys.some((o) => o.bands.every((b, i) => b === y.bands[i])))].map((y) => [x, y] as const)),
      ...ys.flatMap((y) => fitAxis(cols, n, width, y.pitch).filter((x) => !xs.some((o) => o.bands.every((b, i) => b === x.bands[i]))).map((x) => [x, y] as const)),
    ];
    for (const [x, y] of pairs) {
      {
        const ratio = x.pitch / y.pitch;
        if (ratio < 0.8 || ratio > 1.25) continue;
        if (!consistent(x, y, cols) || !consistent(y, x, lines)) continue;
        // a 4x4 explains more bands: three of its separators also fit a 3x3 that stops at the third
        const cost = x.cost + y.cost + Math.abs(Math.log(ratio)) + (n === 3 ? 1 : 0);
        if (!best || cost < best.cost) best = { x, y, cost };
      }
    }
  }
  if (!best) return undefined;
  const { x, y } = best;
  return {
    rows: x.rows,
    box: { left: Math.round(x.start), top: Math.round(y.start), right: Math.round(x.end), bottom: Math.round(y.end) },
    separator: Math.round(((x.separator + y.separator) / 2) * 10) / 10,
  };
}

/**
 * The side x side RGB picture the models expect, from the cells of a detected grid: each cell
 * (without the separators) resampled bilinearly into its place, so the white lines are not
 * fed to the model.
 */
export function assembleCells(img: Raster, grid: GridGeometry, side: number): Buffer {
  const { data, width, height, channels } = img;
  const { rows, box, separator } = grid;
  const cellW = (box.right - box.left - (rows - 1) * separator) / rows;
  const cellH = (box.bottom - box.top - (rows - 1) * separator) / rows;
  const out = Buffer.alloc(side * side * 3);
  const slot = side / rows;
  const source = (o: number, origin: number, cell: number, limit: number): [number, number, number] => {
    const k = Math.min(rows - 1, Math.floor(o / slot));
    const within = ((o + 0.5 - k * slot) / slot) * cell - 0.5;
    const s = Math.min(Math.max(origin + k * (cell + separator) + within, 0), limit - 1);
    const f = Math.floor(s);
    return [f, Math.min(f + 1, limit - 1), s - f];
  };
  const xs = Array.from({ length: side }, (_, x) => source(x, box.left, cellW, width));
  for (let y = 0; y < side; y++) {
    const [y0, y1, wy] = source(y, box.top, cellH, height);
    for (let x = 0; x < side; x++) {
      const [x0, x1, wx] = xs[x]!;
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => data[(yy * width + xx) * channels + c]!;
        const v = (at(y0, x0) * (1 - wx) + at(y0, x1) * wx) * (1 - wy) + (at(y1, x0) * (1 - wx) + at(y1, x1) * wx) * wy;
        out[(y * side + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return out;
}

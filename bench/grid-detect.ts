/**
 * How well detectGrid finds the kind and the crop of a challenge in a screenshot. Screenshots are
 * made from the real pictures in ../shared/data, seeded: a 3x3 from nine tiles-v1 tiles, a 4x4
 * from a grid4-v1 picture cut into squares; scaled, spaced with white separators as the widget
 * draws them (2-4 px at 300 px), framed by margins (white, grey, the blue prompt header, a
 * colour), then JPEG- or PNG-encoded. Also checks that plain pictures (no separators) are never
 * taken for a grid.
 *
 *   node dist/bench/grid-detect.js [--count 600] [--seed 1] [--data ../shared/data] [--write docs/grid-detection.md]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { parseCsv } from '../src/eval/csv.js';
import { readTar } from '../src/eval/tar.js';
import { pick, seededRandom } from '../src/eval/rng.js';
import { detectGrid, type GridBox, type Raster } from '../src/imaging/detect-grid.js';

export interface Sources {
  /** 100x100 RGB tiles. */
  tiles: Buffer[];
  /** 450x450 RGB 4x4 pictures. */
  pictures: Buffer[];
}

export interface Screenshot {
  bytes: Buffer;
  rows: 3 | 4;
  box: GridBox;
  note: string;
}

async function rgb(bytes: Buffer, side: number): Promise<Buffer> {
  return sharp(bytes).removeAlpha().resize(side, side, { fit: 'fill' }).raw().toBuffer();
}

/** `tileCount` tiles drawn (seeded) from tiles-v1's manifest, and every grid4-v1 picture. */
export async function loadSources(dataDir: string, tileCount: number, seed: number): Promise<Sources> {
  const rand = seededRandom(seed);
  const dir = path.join(dataDir, 'tiles-v1');
  const rows = parseCsv(readFileSync(path.join(dir, 'manifest.csv'), 'utf8')).filter((r) => r.kind === 'recaptcha_tile');
  const wanted = new Set(Array.from({ length: tileCount }, () => pick(rand, rows).file!));
  const tiles: Buffer[] = [];
  for (const tar of new Set(rows.filter((r) => wanted.has(r.file!)).map((r) => r.tar!))) {
    for (const e of readTar(path.join(dir, tar))) if (wanted.has(e.name)) tiles.push(await rgb(e.data, 100));
  }
  const pictures: Buffer[] = [];
  for (const e of readTar(path.join(dataDir, 'grid4-v1', 'grid4-train.tar'))) if (/\.(jpe?g|png)$/i.test(e.name)) pictures.push(await rgb(e.data, 450));
  return { tiles, pictures };
}

type Colour = readonly [number, number, number];
const WHITE: Colour = [255, 255, 255];
const HEADER_BLUE: Colour = [74, 144, 226]; // the widget's prompt header, #4a90e2

class Canvas {
  readonly data: Buffer;
  constructor(readonly width: number, readonly height: number, fill: Colour) {
    this.data = Buffer.alloc(width * height * 3);
    this.fill(0, 0, width, height, fill);
  }

  fill(x: number, y: number, w: number, h: number, c: Colour): void {
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy++) {
      for (let xx = Math.max(0, x); xx < Math.min(this.width, x + w); xx++) this.data.set(c, (yy * this.width + xx) * 3);
    }
  }

  /** Paste `src` (side x side RGB), region (sx, sy, size) scaled to `cell` px at (x, y), nearest neighbour after a sharp resize. */
  paste(src: Buffer, side: number, sx: number, sy: number, size: number, x: number, y: number, cell: number): void {
    for (let yy = 0; yy < cell; yy++) {
      const from = Math.min(side - 1, Math.floor(sy + ((yy + 0.5) * size) / cell));
      for (let xx = 0; xx < cell; xx++) {
        const fx = Math.min(side - 1, Math.floor(sx + ((xx + 0.5) * size) / cell));
        const o = ((y + yy) * this.width + x + xx) * 3;
        const i = (from * side + fx) * 3;
        this.data[o] = src[i]!;
        this.data[o + 1] = src[i + 1]!;
        this.data[o + 2] = src[i + 2]!;
      }
    }
  }
}

function between(rand: () => number, lo: number, hi: number): number {
  return lo + rand() * (hi - lo);
}

/** One screenshot of a 3x3 or 4x4 challenge, with where its grid truly is. */
export async function makeScreenshot(rand: () => number, src: Sources, rows: 3 | 4): Promise<Screenshot> {
  // grid side in px: 3x3 shown at 210-600 px, 4x4 at 225-630 px
  const total = rows === 3 ? between(rand, 210, 600) : between(rand, 225, 630);
  const separator = Math.max(1, Math.round((between(rand, 2, 4) * total) / 300));
  const cell = Math.round((total - (rows - 1) * separator) / rows);
  const side = rows * cell + (rows - 1) * separator;
  const pad = rand() < 0.5 ? 0 : Math.round(between(rand, 0.5, 2) * separator);
  const margin = () => Math.round(between(rand, 0, 0.2) * side);
  const [ml, mr, mt, mb] = [margin(), margin(), margin(), margin()];
  const style = rand();
  const background: Colour = style < 0.45 ? WHITE : style < 0.65 ? [249, 249, 249] : style < 0.85 ? WHITE : [Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256)];
  const header = style >= 0.65 && style < 0.85;
  const top = header ? Math.max(mt, Math.round(0.25 * side)) : mt;
  const canvas = new Canvas(ml + pad * 2 + side + mr, top + pad * 2 + side + mb, background);
  if (header) {
    const h = Math.round(top * 0.85);
    canvas.fill(0, 0, canvas.width, h, HEADER_BLUE);
    // the prompt's words: white blocks on the blue header
    for (let k = 0; k < 8; k++) canvas.fill(Math.round(between(rand, 0.05, 0.8) * canvas.width), Math.round(between(rand, 0.2, 0.7) * h), Math.round(between(rand, 10, 60)), Math.max(2, Math.round(h * 0.12)), WHITE);
  }
  const x0 = ml + pad;
  const y0 = top + pad;
  canvas.fill(x0 - pad, y0 - pad, side + 2 * pad, side + 2 * pad, WHITE);
  const picture = rows === 4 ? pick(rand, src.pictures) : undefined;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < rows; c++) {
      const x = x0 + c * (cell + separator);
      const y = y0 + r * (cell + separator);
      if (picture) canvas.paste(picture, 450, c * 112.5, r * 112.5, 112.5, x, y, cell);
      else canvas.paste(pick(rand, src.tiles), 100, 0, 0, 100, x, y, cell);
    }
  }
  const img = sharp(canvas.data, { raw: { width: canvas.width, height: canvas.height, channels: 3 } });
  const png = rand() < 0.2;
  const quality = Math.round(between(rand, 60, 95));
  const bytes = await (png ? img.png() : img.jpeg({ quality })).toBuffer();
  const note = `${rows}x${rows} side ${side} sep ${separator} pad ${pad} margins ${ml}/${mr}/${top}/${mb} ${header ? 'header' : `bg ${background.join(',')}`} ${png ? 'png' : `jpeg q${quality}`}`;
  return { bytes, rows, box: { left: x0, top: y0, right: x0 + side, bottom: y0 + side }, note };
}

/** A plain picture with no separators: nine tiles side by side, a whole 4x4 picture, or one tile; at `side` px. */
export async function makePlain(rand: () => number, src: Sources, kind: '3x3' | '4x4' | '1x1', side: number): Promise<Buffer> {
  const canvas = new Canvas(300, 300, WHITE);
  if (kind === '3x3') for (let k = 0; k < 9; k++) canvas.paste(pick(rand, src.tiles), 100, 0, 0, 100, (k % 3) * 100, Math.floor(k / 3) * 100, 100);
  else if (kind === '4x4') canvas.paste(pick(rand, src.pictures), 450, 0, 0, 450, 0, 0, 300);
  else canvas.paste(pick(rand, src.tiles), 100, 0, 0, 100, 0, 0, 300);
  return sharp(canvas.data, { raw: { width: 300, height: 300, channels: 3 } }).resize(side, side).jpeg({ quality: 85 }).toBuffer();
}

export async function rasterOf(bytes: Buffer): Promise<Raster> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export interface Figures {
  screenshots: number;
  kindRight: number;
  cropWithin2: number;
  notFound: number;
  plain: number;
  plainFalseGrid: number;
  failures: string[];
}

/** `count` screenshots (half 3x3, half 4x4) and `plainCount` plain pictures at the protocol's and other sizes. */
export async function measure(src: Sources, count: number, plainCount: number, seed: number): Promise<Figures> {
  const rand = seededRandom(seed);
  const f: Figures = { screenshots: count, kindRight: 0, cropWithin2: 0, notFound: 0, plain: plainCount, plainFalseGrid: 0, failures: [] };
  for (let i = 0; i < count; i++) {
    const shot = await makeScreenshot(rand, src, i % 2 === 0 ? 3 : 4);
    const found = detectGrid(await rasterOf(shot.bytes));
    if (!found) {
      f.notFound += 1;
      f.failures.push(`#${i} not found: ${shot.note}`);
      continue;
    }
    const err = Math.max(...(['left', 'top', 'right', 'bottom'] as const).map((k) => Math.abs(found.box[k] - shot.box[k])));
    if (found.rows === shot.rows) f.kindRight += 1;
    if (found.rows === shot.rows && err <= 2) f.cropWithin2 += 1;
    else f.failures.push(`#${i} found ${found.rows}x${found.rows} off by ${err} px: ${shot.note}`);
  }
  const kinds = ['3x3', '4x4', '1x1'] as const;
  const sizes: Record<(typeof kinds)[number], number[]> = { '3x3': [300, 500, 600], '4x4': [450, 500, 600], '1x1': [100, 120, 300] };
  for (let i = 0; i < plainCount; i++) {
    const kind = kinds[i % 3]!;
    const side = sizes[kind][Math.floor(i / 3) % 3]!;
    const found = detectGrid(await rasterOf(await makePlain(rand, src, kind, side)));
    if (found) {
      f.plainFalseGrid += 1;
      f.failures.push(`plain #${i} ${kind} at ${side} px taken for ${found.rows}x${found.rows}`);
    }
  }
  return f;
}

export function report(f: Figures, command: string): string {
  const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(1)}%`;
  return [
    '# Grid detection in screenshots',
    '',
    'A screenshot of another size than 100/300/450 px, sent without `task.grid`, is read by',
    '`src/imaging/detect-grid.ts`: the white separators the widget draws between cells give the',
    'number of rows and where the grid sits (margins are cut off). The prompt text, when sent as',
    'the question ("Select all images with …" is 3x3, "Select all squares with …" 4x4), decides the',
    'kind; the detector then only looks for that kind. The protocol\'s own 100x100, 300x300 and',
    '450x450 pictures keep the size rule and are never searched for separators.',
    '',
    `Measured on ${f.screenshots} synthetic screenshots made from the real pictures in \`../shared/data\``,
    '(half 3x3 from nine tiles-v1 tiles, half 4x4 from grid4-v1 pictures; grid 210-630 px, white',
    'separators 2-4 px at 300 px, white padding, margins 0-20% white, grey, blue prompt header or',
    'a random colour, JPEG q60-95 or PNG), without any prompt hint:',
    '',
    '| measure | result | target |',
    '|---|---|---|',
    `| kind right (3x3 vs 4x4) | ${f.kindRight}/${f.screenshots} = ${pct(f.kindRight, f.screenshots)} | ≥ 99% |`,
    `| kind right and crop within 2 px (every edge) | ${f.cropWithin2}/${f.screenshots} = ${pct(f.cropWithin2, f.screenshots)} | ≥ 98% |`,
    `| no grid found | ${f.notFound} | |`,
    `| plain pictures (no separators; 3x3, 4x4, 1x1 at 100-600 px) taken for a grid | ${f.plainFalseGrid}/${f.plain} | 0 |`,
    '',
    'Command:',
    '',
    '```sh',
    command,
    '```',
    '',
    ...(f.failures.length ? ['Misses:', '', ...f.failures.slice(0, 20).map((s) => `- ${s}`), ''] : []),
    'The test suite runs a smaller seeded version (60 screenshots) and asserts the targets',
    '(`bench/grid-detect.test.ts`).',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '600' }, plain: { type: 'string', default: '90' }, seed: { type: 'string', default: '1' }, data: { type: 'string', default: '../shared/data' }, write: { type: 'string' } } });
  const src = await loadSources(values.data, 600, Number(values.seed));
  const started = performance.now();
  const f = await measure(src, Number(values.count), Number(values.plain), Number(values.seed));
  const command = `npm run build && node dist/bench/grid-detect.js --count ${values.count} --plain ${values.plain} --seed ${values.seed} --write docs/grid-detection.md`;
  const text = report(f, command);
  console.log(text);
  console.error(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (values.write) writeFileSync(values.write, text);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

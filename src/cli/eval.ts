/** `gridlens eval`: measure a model on labelled tiles and/or labelled 4x4 challenges. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { startSolver } from '../app.js';
import { applyCorrections, loadGrid4, loadLabelled, loadTiles } from '../eval/datasets.js';
import { evalGrid4 } from '../eval/grid4.js';
import { evalTiles, type TileReport } from '../eval/tiles.js';
import type { Grid4Report } from '../eval/grid4.js';
import { CliError } from './errors.js';

export const EVAL_HELP = `gridlens eval: measure the model on labelled data

  gridlens eval --tiles DIR [--labels DIR] [--only LIST] [--challenges N] [--seed S] [--confidence C] [--json]
  gridlens eval --grid4 DIR [--only LIST] [--json]

  --tiles DIR      one sub-folder per class, or the tiles-v1 layout (manifest.csv + tars)
  --labels DIR     also our labels for unlabeled-v1 tiles (data/labels: CSVs of pix_sha1, file,
                   class, method), read from the unlabeled-v1 folder beside --tiles, and the
                   corrections of tiles-v1's own labels in DIR/corrections/tiles-v1.csv (e.g. the
                   "bus" tiles that show a school bus); a school bus also counts as a bus
  --grid4 DIR      images (loose or in tars) plus labels.csv (file, question, cells) as in grid4-v1,
                   answered by the 4x4 model (MODEL_DIR_4X4; set it empty for the tile model)
  --only LIST      a text file of file names to keep, one per line: e.g. the model's validation
                   split, models/gridlens-tiles/validation.txt (never evaluate on training data)
  --challenges N   synthetic 3x3 challenges composed from the tiles (default 1000)
  --seed S         seed for the synthetic challenges and 1x1 negatives (default 1)
  --confidence C   confidence sent with each synthetic 3x3 (default: the class's threshold)
  --model DIR      model folder (default: MODEL_DIR or models/gridlens-tiles)
  --json           print the figures as JSON

Progress goes to stderr; the figures to stdout.`;

const pct = (v: number | null) => (v === null ? '   -  ' : `${(v * 100).toFixed(1).padStart(5)}%`);

function printTiles(r: TileReport): void {
  console.log(`model ${r.model}, ${r.tiles} tiles`);
  console.log(`tile top-1            ${pct(r.top1)}`);
  console.log(`1x1 hasObject         ${pct(r.oneByOne.accuracy)}  (${r.oneByOne.queries} queries)`);
  console.log(`synthetic 3x3 exact   ${pct(r.synthetic3x3.exactSolveRate)}  (${r.synthetic3x3.challenges} challenges, confidence: ${r.synthetic3x3.confidence})`);
  console.log(`  same challenges:     ${pct(r.exactSolveBy.confidence05)} at confidence 0.5 (what a vendor client sends), ${pct(r.exactSolveBy.thresholds)} at the per-class thresholds, ${pct(r.exactSolveBy.topThree)} for the default top three`);
  console.log('\nclass            n   precision  recall   3x3 solved');
  for (const [c, f] of Object.entries(r.perClass)) {
    const s = r.synthetic3x3.perClass[c];
    console.log(`${c.padEnd(14)} ${String(f.n).padStart(4)}   ${pct(f.precision)}   ${pct(f.recall)}   ${s ? `${s.solved}/${s.total}` : '-'}`);
  }
}

function printGrid4(r: Grid4Report): void {
  console.log(`model ${r.model}, ${r.challenges} 4x4 challenges (${r.unanswerable} not answerable)`);
  console.log(`squares: precision ${pct(r.precision)}  recall ${pct(r.recall)}  F1 ${r.f1.toFixed(3)}   exact set ${pct(r.exactSetRate)}`);
  const a = r.answered;
  console.log(`answered questions only (${a.challenges} challenges): precision ${pct(a.precision)}  recall ${pct(a.recall)}  F1 ${a.f1.toFixed(3)}   exact set ${pct(a.exactSetRate)}`);
  for (const [q, c] of Object.entries(r.perQuestion)) console.log(`  ${q.padEnd(14)} ${String(c.total).padStart(3)}  F1 ${c.f1.toFixed(3)}  exact ${c.exact}/${c.total}${c.unanswerable ? `  unanswerable ${c.unanswerable}` : ''}`);
}

function progress(what: string, done: number, total: number): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${what} ${done}/${total}   `);
  else if (done === total || done % 1000 === 0) process.stderr.write(`${what} ${done}/${total}\n`);
}

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tiles: { type: 'string' }, grid4: { type: 'string' }, only: { type: 'string' }, challenges: { type: 'string' },
      seed: { type: 'string' }, labels: { type: 'string' }, confidence: { type: 'string' }, model: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || (!values.tiles && !values.grid4)) return void console.log(EVAL_HELP);
  const only = values.only ? new Set(readFileSync(values.only, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean)) : undefined;
  const challenges = Number(values.challenges ?? 1000);
  const seed = Number(values.seed ?? 1);
  const confidence = values.confidence === undefined ? undefined : Number(values.confidence);
  if (!Number.isInteger(challenges) || challenges < 0) throw new CliError(`--challenges must be a whole number, got ${values.challenges}`);
  if (confidence !== undefined && !(confidence >= 0 && confidence <= 1)) throw new CliError(`--confidence must be 0.0-1.0, got ${values.confidence}`);
  const config = loadConfig({ inferenceWorkers: 1, ...(values.model ? { modelDir: values.model } : {}) });
  const solver = await startSolver(config);
  const out: { tiles?: TileReport; grid4?: Grid4Report } = {};
  try {
    if (values.tiles) {
      const images = loadTiles(values.tiles, only);
      if (values.labels) {
        const fixed = applyCorrections(images, path.join(values.labels, 'corrections', 'tiles-v1.csv'), values.tiles);
        if (fixed) process.stderr.write(`corrected the labels of ${fixed} tiles (${path.join(values.labels, 'corrections', 'tiles-v1.csv')})\n`);
        images.push(...loadLabelled(values.labels, path.join(values.tiles, '..', 'unlabeled-v1'), only));
      }
      if (images.length === 0) throw new CliError(`no labelled images found in ${values.tiles}${only ? ` matching ${values.only}` : ''}`);
      process.stderr.write(`evaluating ${images.length} tiles from ${values.tiles}\n`);
      out.tiles = await evalTiles(solver, images, { seed, challenges, confidence, progress });
    }
    if (values.grid4) {
      const items = loadGrid4(values.grid4, only);
      process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}evaluating ${items.length} 4x4 challenges from ${values.grid4}\n`);
      out.grid4 = await evalGrid4(solver, items, (d, t) => progress('4x4 challenges', d, t));
    }
  } finally {
    await Promise.all(solver.models().map((m) => m.pool.close()));
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  if (values.json) return void console.log(JSON.stringify(out, null, 2));
  if (out.tiles) printTiles(out.tiles);
  if (out.grid4) printGrid4(out.grid4);
}

/**
 * `gridlens calibrate-grid4`: fit how a tile model answers 4x4 pictures on labelled 4x4
 * challenges (a calibration split, never the validation one): the context window per square and
 * per-class square thresholds maximising square-level F1. Writes them into model.json's `grid4`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, resolveFromRoot } from '../config.js';
import { startSolver } from '../app.js';
import { loadGrid4 } from '../eval/datasets.js';
import { readPicture } from '../imaging/decode.js';
import { sampleTiles } from '../imaging/sample-tiles.js';
import { resolveQuestion } from '../protocol/questions.js';
import { CliError } from './errors.js';

export const CALIBRATE_HELP = `gridlens calibrate-grid4: fit the 4x4 settings of a tile model on labelled 4x4 challenges

  gridlens calibrate-grid4 --grid4 DIR --only LIST [--model DIR] [--contexts 1,1.25,1.5,2] [--write]

  --only LIST   the calibration split (e.g. models/gridlens-tiles/grid4-calibration.txt); keep
                the validation split out of it so that 'gridlens eval --grid4' stays honest
  --write       store {context, thresholds} in the model's model.json (otherwise only print)`;

interface Item { cls: string; scores: number[]; want: Set<number> }

function f1(items: Item[], t: number): { tp: number; fp: number; fn: number } {
  let tp = 0, fp = 0, fn = 0;
  for (const it of items) it.scores.forEach((s, i) => {
    const hit = it.want.has(i);
    if (s >= t) hit ? tp++ : fp++;
    else if (hit) fn++;
  });
  return { tp, fp, fn };
}

const score = (c: { tp: number; fp: number; fn: number }) => (c.tp === 0 ? 0 : (2 * c.tp) / (2 * c.tp + c.fp + c.fn));

function bestThreshold(items: Item[]): number {
  let best = 0.5, bestF = -1;
  for (let t = 0.02; t < 0.99; t += 0.01) {
    const f = score(f1(items, t));
    if (f > bestF + 1e-9) { bestF = f; best = Math.round(t * 100) / 100; }
  }
  return best;
}

export async function calibrateGrid4Command(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { grid4: { type: 'string' }, only: { type: 'string' }, model: { type: 'string' }, contexts: { type: 'string', default: '1,1.25,1.5,2' }, write: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.grid4 || !values.only) return void console.log(CALIBRATE_HELP);
  const only = new Set(readFileSync(values.only, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean));
  const contexts = values.contexts!.split(',').map(Number);
  if (contexts.some((c) => !(c >= 1 && c <= 4))) throw new CliError(`--contexts must be numbers from 1 to 4, got ${values.contexts}`);
  // always the tile model's 4x4 path: these settings are the tile model's (a picture model fits its own in training)
  const config = loadConfig({ inferenceWorkers: 1, modelDir4x4: '', ...(values.model ? { modelDir: values.model } : {}) });
  const solver = await startSolver(config);
  const { model, pool } = solver.modelFor('4x4');
  const m = model.manifest;
  const answerable = new Set(m.grids['4x4'] ?? []);
  const challenges = loadGrid4(values.grid4, only);
  let best: { context: number; f: number; thresholds: Record<string, number> } | undefined;
  try {
    for (const context of contexts) {
      const items: Item[] = [];
      for (const ch of challenges) {
        const q = resolveQuestion(ch.question.replace(/_/g, ' '));
        const cls = m.classes.find((c) => q && m.questions[c]?.includes(q.id));
        if (!cls || !answerable.has(cls)) continue;
        const pic = await readPicture(ch.bytes, '4x4', config.maxImagePixels);
        const { scores } = await pool.infer(sampleTiles(pic.raw, pic.side, 4, m.input, context), 16);
        const k = m.classes.indexOf(cls);
        items.push({ cls, scores: Array.from({ length: 16 }, (_, i) => scores[i * m.classes.length + k]!), want: new Set(ch.cells) });
      }
      const shared = bestThreshold(items);
      const thresholds: Record<string, number> = {};
      for (const cls of answerable) {
        const mine = items.filter((i) => i.cls === cls);
        thresholds[cls] = mine.length >= 4 ? bestThreshold(mine) : shared;
      }
      const total = { tp: 0, fp: 0, fn: 0 };
      for (const it of items) {
        const c = f1([it], thresholds[it.cls]!);
        total.tp += c.tp; total.fp += c.fp; total.fn += c.fn;
      }
      const f = score(total);
      console.log(`context ${context}: calibration F1 ${f.toFixed(3)} on ${items.length} challenges; thresholds ${JSON.stringify(thresholds)}`);
      if (!best || f > best.f) best = { context, f, thresholds };
    }
  } finally {
    await pool.close();
  }
  if (!best) throw new CliError('no answerable 4x4 challenges in the calibration split');
  console.log(`best: context ${best.context}, calibration F1 ${best.f.toFixed(3)}`);
  if (values.write) {
    const file = path.join(resolveFromRoot(config.modelDir), 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    json.grid4 = { context: best.context, thresholds: best.thresholds, fittedOn: `${path.basename(values.only)} (${challenges.length} challenges of ${path.basename(values.grid4)})` };
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`wrote grid4 settings to ${file}`);
  }
}

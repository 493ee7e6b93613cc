/**
 * `gridlens eval --tiles`: tile top-1, per-class precision/recall, 1x1 hasObject accuracy at
 * the shipped thresholds, and the exact-solve rate of seeded synthetic 3x3 challenges, all
 * through the service's own decode → sample → worker → select path.
 */
import { readPicture, type Picture } from '../imaging/decode.js';
import { sampleTiles } from '../imaging/sample-tiles.js';
import { QUESTIONS, type Question } from '../protocol/questions.js';
import type { Solver } from '../solver/solver.js';
import type { LabelledImage } from './datasets.js';
import { pick, seededRandom, shuffle } from './rng.js';
import { select3x3 } from '../solver/select-cells.js';
import { questionScore } from '../model/manifest.js';

/**
 * What a label implies for the questions, whatever the model: a school bus is a bus, so a tile
 * labelled school_bus is a positive for a bus question too (1x1 queries, 3x3 challenges).
 */
export const IMPLIES: Record<string, string[]> = { school_bus: ['bus'] };

/** A tile's labels with the classes they imply (IMPLIES) added. */
export function withImplied(labels: string[]): string[] {
  const out = [...labels];
  for (const l of labels) for (const c of IMPLIES[l] ?? []) if (!out.includes(c)) out.push(c);
  return out;
}

export interface TileEvalOptions {
  seed: number;
  challenges: number;
  /** Confidence sent with each synthetic 3x3; default: the class's calibrated threshold. */
  confidence?: number;
  progress?: (what: string, done: number, total: number) => void;
}

export interface ClassFigures { n: number; precision: number | null; recall: number | null }

export interface TileReport {
  model: string;
  tiles: number;
  top1: number;
  perClass: Record<string, ClassFigures>;
  confusion: { classes: string[]; matrix: number[][] };
  oneByOne: { accuracy: number; queries: number };
  synthetic3x3: { exactSolveRate: number; challenges: number; perClass: Record<string, { solved: number; total: number }>; confidence: string };
  /** The same synthetic challenges answered three ways: what a vendor client sending confidence 0.5
   * gets, what the model's own per-class thresholds give, and the default top three. */
  exactSolveBy: { confidence05: number; thresholds: number; topThree: number };
}

const BATCH = 64;
const MAX_PIXELS = 4096 * 4096;

function questionFor(id: string): Question {
  return QUESTIONS.find((q) => q.id === id)!;
}

export async function evalTiles(solver: Solver, images: LabelledImage[], opts: TileEvalOptions): Promise<TileReport> {
  const { model, pool } = solver.modelFor('1x1');
  const m = model.manifest;
  const K = m.classes.length;
  const pictures: Picture[] = [];
  for (const img of images) {
    pictures.push(await readPicture(img.bytes, '1x1', MAX_PIXELS));
    if (pictures.length % 500 === 0) opts.progress?.('decoded', pictures.length, images.length);
  }
  const scores: Float32Array[] = [];
  for (let i = 0; i < pictures.length; i += BATCH) {
    const chunk = pictures.slice(i, i + BATCH);
    const plane = 3 * m.input.size * m.input.size;
    const input = new Float32Array(chunk.length * plane);
    chunk.forEach((p, j) => input.set(sampleTiles(p.raw, p.side, 1, m.input), j * plane));
    const { scores: out } = await pool.infer(input, chunk.length);
    for (let j = 0; j < chunk.length; j++) scores.push(out.subarray(j * K, (j + 1) * K));
    opts.progress?.('scored', Math.min(i + BATCH, pictures.length), pictures.length);
  }

  // top-1 and per-class precision/recall (of the arg-max class)
  const truth = images.map((im) => m.classes.indexOf(im.labels[0]!));
  const pred = scores.map((s) => s.indexOf(Math.max(...s)));
  const matrix = m.classes.map(() => m.classes.map(() => 0));
  truth.forEach((t, i) => { if (t >= 0) matrix[t]![pred[i]!]! += 1; });
  const perClass: Record<string, ClassFigures> = {};
  m.classes.forEach((c, k) => {
    const n = matrix[k]!.reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + row[k]!, 0);
    perClass[c] = { n, precision: predicted ? matrix[k]![k]! / predicted : null, recall: n ? matrix[k]![k]! / n : null };
  });
  const known = truth.filter((t) => t >= 0).length;
  const top1 = truth.reduce((a, t, i) => a + (t >= 0 && t === pred[i] ? 1 : 0), 0) / Math.max(1, known);

  // 1x1: each tile asked its own class (expect true) and one other answerable class (expect false);
  // a question's score is the one the service answers with (its class plus the classes it includes)
  const implied = images.map((im) => withImplied(im.labels));
  const answerable = m.classes.filter((c) => (m.questions[c]?.length ?? 0) > 0 && (m.grids['1x1'] ?? m.classes).includes(c));
  const rand = seededRandom(opts.seed);
  let right = 0;
  let queries = 0;
  implied.forEach((labels, i) => {
    const own = answerable.filter((c) => labels.includes(c));
    const others = answerable.filter((c) => !labels.includes(c));
    const asked: [string, boolean][] = own.map((c) => [c, true]);
    if (others.length) asked.push([pick(rand, others), false]);
    for (const [c, expected] of asked) {
      queries += 1;
      if ((questionScore(m, scores[i]!, c) >= m.thresholds[c]!) === expected) right += 1;
    }
  });

  // synthetic 3x3: plant 2-5 tiles of a target class among tiles without it
  const byClass = new Map(answerable.map((c) => [c, implied.flatMap((labels, i) => (labels.includes(c) ? [i] : []))]));
  const targets = answerable.filter((c) => byClass.get(c)!.length >= 5);
  const per3: Record<string, { solved: number; total: number }> = {};
  let solved = 0;
  const by = { confidence05: 0, thresholds: 0, topThree: 0 };
  for (let n = 0; n < opts.challenges; n++) {
    const target = pick(rand, targets);
    const k = 2 + Math.floor(rand() * 4);
    const planted = shuffle(rand, [...byClass.get(target)!]).slice(0, k);
    const fillers: number[] = [];
    while (fillers.length < 9 - k) {
      const i = Math.floor(rand() * images.length);
      if (!implied[i]!.includes(target) && !fillers.includes(i)) fillers.push(i);
    }
    const cells = shuffle(rand, [...planted.map((i) => ({ i, hit: true })), ...fillers.map((i) => ({ i, hit: false }))]);
    const raw = Buffer.alloc(300 * 300 * 3);
    cells.forEach(({ i }, cell) => {
      const src = pictures[i]!.raw;
      const ox = (cell % 3) * 100;
      const oy = Math.floor(cell / 3) * 100;
      for (let y = 0; y < 100; y++) src.copy(raw, ((oy + y) * 300 + ox) * 3, y * 300, y * 300 + 300);
    });
    const question = questionFor(m.questions[target]![0]!);
    const confidence = opts.confidence ?? m.thresholds[target]!;
    const { solution, scores: cellScores } = await solver.solve({ kind: '3x3', raw, side: 300, rows: 3 }, question, { confidence });
    const want = cells.flatMap((c, idx) => (c.hit ? [idx] : [])).join(',');
    const ok = solution.type === 'multi' && solution.objects.join(',') === want;
    by.confidence05 += select3x3(cellScores, 0.5).join(',') === want ? 1 : 0;
    by.thresholds += select3x3(cellScores, m.thresholds[target]!).join(',') === want ? 1 : 0;
    by.topThree += select3x3(cellScores, undefined).join(',') === want ? 1 : 0;
    solved += ok ? 1 : 0;
    const s = (per3[target] ??= { solved: 0, total: 0 });
    s.total += 1;
    s.solved += ok ? 1 : 0;
    if ((n + 1) % 100 === 0) opts.progress?.('3x3 challenges', n + 1, opts.challenges);
  }

  return {
    model: `${m.name}@${m.version}`,
    tiles: images.length,
    top1,
    perClass,
    confusion: { classes: m.classes, matrix },
    oneByOne: { accuracy: right / Math.max(1, queries), queries },
    synthetic3x3: { exactSolveRate: solved / Math.max(1, opts.challenges), challenges: opts.challenges, perClass: per3, confidence: opts.confidence === undefined ? 'per-class threshold' : String(opts.confidence) },
    exactSolveBy: {
      confidence05: by.confidence05 / Math.max(1, opts.challenges),
      thresholds: by.thresholds / Math.max(1, opts.challenges),
      topThree: by.topThree / Math.max(1, opts.challenges),
    },
  };
}

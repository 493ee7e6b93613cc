/** `gridlens eval --grid4`: square-level precision/recall/F1 and exact-set rate on labelled 4x4 challenges. */
import { readPicture } from '../imaging/decode.js';
import { ProtocolError } from '../protocol/errors.js';
import { resolveQuestion } from '../protocol/questions.js';
import type { Solver } from '../solver/solver.js';
import type { Grid4Challenge } from './datasets.js';

export interface Counts { tp: number; fp: number; fn: number; exact: number; total: number; unanswerable: number }

export interface Grid4Report {
  model: string;
  challenges: number;
  precision: number;
  recall: number;
  f1: number;
  exactSetRate: number;
  unanswerable: number;
  /** The same figures over the challenges whose question the model answers on 4x4 (refusals left out). */
  answered: { challenges: number; precision: number; recall: number; f1: number; exactSetRate: number };
  perQuestion: Record<string, Counts & { f1: number }>;
}

function f1Of(c: Counts): number {
  return c.tp === 0 ? 0 : (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
}

export async function evalGrid4(solver: Solver, items: Grid4Challenge[], progress?: (done: number, total: number) => void): Promise<Grid4Report> {
  const zero = (): Counts => ({ tp: 0, fp: 0, fn: 0, exact: 0, total: 0, unanswerable: 0 });
  const all = zero();
  const ans = zero();
  const per: Record<string, Counts> = {};
  for (const [n, item] of items.entries()) {
    const q = resolveQuestion(item.question.replace(/_/g, ' '));
    const c = (per[item.question] ??= zero());
    let got: number[] = [];
    let answered = true;
    try {
      if (!q) throw new ProtocolError('ERROR_UNKNOWN_QUESTION', item.question);
      const { solution } = await solver.solve(await readPicture(item.bytes, '4x4', 4096 * 4096), q);
      got = solution.type === 'multi' ? solution.objects : [];
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      answered = false;
      c.unanswerable += 1;
      all.unanswerable += 1;
    }
    const want = new Set(item.cells);
    const tp = got.filter((i) => want.has(i)).length;
    for (const acc of answered ? [c, all, ans] : [c, all]) {
      acc.tp += tp;
      acc.fp += got.length - tp;
      acc.fn += want.size - tp;
      acc.total += 1;
      acc.exact += tp === want.size && got.length === want.size ? 1 : 0;
    }
    progress?.(n + 1, items.length);
  }
  const precision = all.tp / Math.max(1, all.tp + all.fp);
  const recall = all.tp / Math.max(1, all.tp + all.fn);
  const m = solver.modelFor('4x4').model.manifest;
  return {
    model: `${m.name}@${m.version}`,
    challenges: items.length, precision, recall, f1: f1Of(all),
    exactSetRate: all.exact / Math.max(1, all.total),
    unanswerable: all.unanswerable,
    answered: {
      challenges: ans.total,
      precision: ans.tp / Math.max(1, ans.tp + ans.fp),
      recall: ans.tp / Math.max(1, ans.tp + ans.fn),
      f1: f1Of(ans),
      exactSetRate: ans.exact / Math.max(1, ans.total),
    },
    perQuestion: Object.fromEntries(Object.entries(per).map(([k, v]) => [k, { ...v, f1: f1Of(v) }])),
  };
}

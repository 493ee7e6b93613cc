/**
 * Which questions a model answers on which grid, and how well, read from its model.json alone:
 * `questions` and `grids` say what is answered; a class that exists but is kept out of them was
 * gated at export (training/export.py --min-recall); `metrics` carries the validation figures.
 */
import { GRID_KINDS, type GridKind } from '../imaging/grid.js';
import type { ModelManifest } from '../model/manifest.js';
import { resolveQuestion, type Question } from '../protocol/questions.js';

export interface Coverage {
  answered: boolean;
  model: string;
  /** The model's class for the question, when it has one (answered or gated). */
  class?: string;
  /** Why it is not answered. */
  reason?: string;
  /** Validation figures from model.json's metrics: the class's own where the model reports them per class, else the model's. */
  metrics?: Record<string, number>;
  /** "class": the figures are the class's own; "model": the model reports only overall figures (the 4x4 model's square F1). */
  metricsOf?: 'class' | 'model';
}

/** The class a question maps to: named in `questions`, or (gated classes have no IDs) whose name is the question's. */
function classOf(m: ModelManifest, q: Question): string | undefined {
  return m.classes.find((c) => m.questions[c]?.includes(q.id)) ?? m.classes.find((c) => resolveQuestion(c.replace(/_/g, ' '))?.id === q.id);
}

function numbers(o: unknown): Record<string, number> | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const out = Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v === 'number').map(([k, v]) => [k, Math.round((v as number) * 1000) / 1000]));
  return Object.keys(out).length ? out : undefined;
}

function metricsOf(m: ModelManifest, cls: string): Pick<Coverage, 'metrics' | 'metricsOf'> {
  const validation = (m.metrics as { validation?: { perClass?: Record<string, unknown> } } | undefined)?.validation;
  const own = numbers(validation?.perClass?.[cls]);
  if (own) return { metrics: own, metricsOf: 'class' };
  const overall = numbers(validation);
  return overall ? { metrics: overall, metricsOf: 'model' } : {};
}

export function coverage(m: ModelManifest, q: Question, kind: GridKind): Coverage {
  const cls = classOf(m, q);
  const model = m.name;
  if (!cls) return { answered: false, model, reason: `no trained class: model ${model} has no class for "${q.english}"` };
  const shown = metricsOf(m, cls);
  const metrics = shown.metricsOf === 'class' ? shown.metrics : undefined;
  const inGrid = (m.grids[kind] ?? m.classes).includes(cls);
  if (m.questions[cls]?.includes(q.id) && inGrid) return { answered: true, model, class: cls, ...shown };
  const recall = metrics?.recall !== undefined && metrics.n !== undefined ? `, validation recall ${metrics.recall} on ${metrics.n}` : '';
  return { answered: false, model, class: cls, reason: `trained, but below its validation gate: model ${model} keeps class "${cls}" out of ${inGrid ? 'questions' : `grids.${kind}`}${recall}`, ...shown };
}

/** The questions a model answers on a grid kind, by ID. */
export function answerable(m: ModelManifest, kind: GridKind, questions: readonly Question[]): Question[] {
  return questions.filter((q) => coverage(m, q, kind).answered);
}

export type QuestionRow = Question & { answers: Record<GridKind, Coverage> };

/** Every question with its coverage per grid kind, given the manifest that serves each kind. */
export function questionTable(modelFor: (kind: GridKind) => ModelManifest, questions: readonly Question[]): QuestionRow[] {
  return questions.map((q) => ({ ...q, answers: Object.fromEntries(GRID_KINDS.map((k) => [k, coverage(modelFor(k), q, k)])) as Record<GridKind, Coverage> }));
}

/**
 * The recognition domain: a decoded picture and a question in, the protocol's solution out.
 * HTTP routes and the CLI both call this. Which model answers which grid, and which class a
 * question maps to, comes only from each model's model.json.
 */
import { ProtocolError } from '../protocol/errors.js';
import { QUESTIONS, type Question } from '../protocol/questions.js';
import type { GridKind } from '../imaging/grid.js';
import { answerable, coverage, questionTable, type QuestionRow } from './coverage.js';
import type { Picture } from '../imaging/decode.js';
import { questionScore, type LoadedModel } from '../model/manifest.js';
import type { InferencePool } from '../inference/pool.js';
import { roundScores, select3x3, selectAbove, type Solution } from './select-cells.js';

export interface ServingModel {
  model: LoadedModel;
  pool: InferencePool;
}

export interface SolveOptions {
  confidence?: number;
  withScores?: boolean;
}

export interface SolveResult {
  solution: Solution;
  className: string;
  scores: number[];
  inferenceMs: number;
}

export class Solver {
  /** tiles: the tile classifier; grid4: an optional dedicated 4x4 model (issue 4). */
  constructor(private readonly tiles: ServingModel, private readonly grid4?: ServingModel) {}

  modelFor(kind: GridKind): ServingModel {
    return kind === '4x4' && this.grid4 ? this.grid4 : this.tiles;
  }

  models(): ServingModel[] {
    return this.grid4 ? [this.tiles, this.grid4] : [this.tiles];
  }

  /** Every question with, per grid kind, whether the serving model answers it, how well, or why not (GET /questions). */
  questionTable(): QuestionRow[] {
    return questionTable((k) => this.modelFor(k).model.manifest, QUESTIONS);
  }

  /** The class that answers a question on a grid kind, or the protocol's error for why none does. */
  classFor(question: Question, kind: GridKind): string {
    const { manifest } = this.modelFor(kind).model;
    const cover = coverage(manifest, question, kind);
    if (cover.answered) return cover.class!;
    const label = `${question.id} (${question.english})`;
    if (kind === '4x4') {
      const ok = answerable(manifest, '4x4', QUESTIONS).map((q) => q.id).join(', ');
      throw new ProtocolError('ERROR_UNKNOW_450x450_QUESTION', `task.question ${label} is not answerable on a 4x4 (450x450) image: ${cover.reason}; answerable: ${ok || 'none'}`);
    }
    throw new ProtocolError('ERROR_CAPTCHA_UNSOLVABLE', `task.question ${label} cannot be answered on a ${kind}: ${cover.reason} (nothing was charged)`);
  }

  async solve(picture: Picture, question: Question, opts: SolveOptions = {}): Promise<SolveResult> {
    const className = this.classFor(question, picture.kind);
    const { model, pool } = this.modelFor(picture.kind);
    const { manifest } = model;
    const cells = picture.rows * picture.rows;
    // A picture model sees the whole picture once and answers every cell; a tile model sees each cell.
    const whole = manifest.input.unit === 'picture';
    // grid4 settings (context, thresholds) are a tile model's way of answering 4x4; a picture model has its own thresholds
    const tuned = picture.kind === '4x4' && !whole ? manifest.grid4 : undefined;
    // the worker cuts and resamples the picture (sampleTiles), off the event loop
    const { scores: all, ms } = await pool.inferPicture(picture.raw, picture.side, whole ? 1 : picture.rows, tuned?.context ?? 1);
    const n = manifest.classes.length;
    const scores = Array.from({ length: cells }, (_, i) => questionScore(manifest, all.subarray(i * n, (i + 1) * n), className));
    const threshold = tuned?.thresholds[className] ?? manifest.thresholds[className]!;
    const shown = opts.withScores ? { scores: roundScores(scores) } : {};
    let solution: Solution;
    if (picture.kind === '1x1') solution = { type: 'single', hasObject: scores[0]! >= threshold, ...shown };
    else if (picture.kind === '3x3') solution = { type: 'multi', objects: select3x3(scores, opts.confidence), ...shown };
    else solution = { type: 'multi', objects: selectAbove(scores, threshold), ...shown };
    return { solution, className, scores, inferenceMs: ms };
  }
}

/**
 * Reports that an answer was wrong, as the account stores keep them (migrations/*\/003_feedback.sql):
 * the picture, question and our answer from the task, and the user's correction when given.
 */
import type { GridKind } from '../imaging/grid.js';
import type { Solution } from '../solver/select-cells.js';

export type FeedbackSource = 'feedbackTask' | 'reportIncorrectImageCaptcha';

/** The cells that were right: every cell with the object (3x3, 4x4), or whether the tile has it (1x1). */
export type Correction = { objects: number[] } | { hasObject: boolean };

export interface FeedbackReport {
  taskId: string;
  accountId: number;
  source: FeedbackSource;
  kind: GridKind;
  questionId: string;
  className: string;
  picture?: Buffer;
  answer: Solution;
  correction?: Correction;
  invalid: boolean;
  code: string;
  message: string;
}

export interface FeedbackRow extends FeedbackReport {
  id: number;
  /** Size of the stored picture (0: none), also when the picture itself was not read. */
  pictureBytes: number;
  refunded: number;
  createdAt: string;
}

/** FEEDBACK_REFUND on: give back a reported task's charge, at most maxPerDay times per key per UTC day. */
export interface RefundPolicy {
  maxPerDay: number;
}

export interface FeedbackOutcome {
  /** false: this task was already reported. */
  stored: boolean;
  /** Points given back (0: refunds off, the day's cap reached, or the task cost nothing). */
  refunded: number;
}

/** The ledger's task_id of a feedback refund: UNIQUE, so a task is refunded at most once. */
export const refundTaskId = (taskId: string) => `feedback:${taskId}`;

export function startOfUtcDay(now = new Date()): string {
  return `${now.toISOString().slice(0, 10)}T00:00:00.000Z`;
}

/** The stored JSON columns back to values. */
export function rowToFeedback(r: Record<string, unknown>): FeedbackRow {
  return {
    id: Number(r.id), taskId: String(r.task_id), accountId: Number(r.account_id), source: r.source as FeedbackSource,
    kind: r.kind as GridKind, questionId: String(r.question), className: String(r.class),
    picture: r.picture ? Buffer.from(r.picture as Uint8Array) : undefined, pictureBytes: Number(r.picture_bytes ?? 0),
    answer: JSON.parse(String(r.answer)) as Solution,
    correction: r.correction ? (JSON.parse(String(r.correction)) as Correction) : undefined,
    invalid: Boolean(r.invalid), code: String(r.code), message: String(r.message), refunded: Number(r.refunded),
    createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
  };
}

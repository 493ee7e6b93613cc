/**
 * Bodies of the two ways clients report a wrong answer (shared/docs/protocol.md, "Other endpoints"):
 * CapSolver's POST /feedbackTask {clientKey, taskId, result: {invalid, code?, message?}} and
 * Anti-Captcha's POST /reportIncorrectImageCaptcha {clientKey, taskId}. gridlens's own addition:
 * the cells that were right, `objects` (3x3, 4x4) or `hasObject` (1x1), inside `result` or beside it.
 */
import { ProtocolError } from './errors.js';
import { aJsonType, isObject, taskIdOf, type Json } from './requests.js';
import type { Correction } from '../accounts/feedback.js';
import type { GridKind } from '../imaging/grid.js';

export interface FeedbackInput {
  taskId: string;
  /** true: the answer did not pass. CapSolver's `invalid: false` says it did: our answer is then the label. */
  invalid: boolean;
  code: string;
  message: string;
  /** Raw corrections, checked against the task's kind once the task is found (correctionFor). */
  objects?: unknown;
  hasObject?: unknown;
}

const fail = (text: string) => new ProtocolError('ERROR_REQUIRED_FIELDS', text);

/** code and message are free text for CapSolver; a number is kept as its decimal text, a long text is cut. */
function freeText(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' && typeof v !== 'number') throw fail(`${field} has the wrong type: expected a string or a number, got ${aJsonType(v)}`);
  return String(v).slice(0, 500);
}

export function parseFeedback(body: Json, capsolver: boolean): FeedbackInput {
  const taskId = taskIdOf(body);
  const result = body.result;
  if (capsolver && !isObject(result)) {
    throw fail(result === undefined || result === null
      ? 'result is missing: send {"invalid": true} (optionally "code", "message", and the right cells as "objects" or "hasObject")'
      : `result has the wrong type: expected an object such as {"invalid": true}, got ${aJsonType(result)}`);
  }
  const r: Json = isObject(result) ? result : {};
  if (r.invalid !== undefined && typeof r.invalid !== 'boolean') throw fail(`result.invalid has the wrong type: expected true or false, got ${aJsonType(r.invalid)}`);
  return {
    taskId,
    invalid: r.invalid !== false,
    code: freeText(r.code, 'result.code'),
    message: freeText(r.message, 'result.message'),
    objects: r.objects ?? body.objects,
    hasObject: r.hasObject ?? body.hasObject,
  };
}

/** The user's right cells for a task of this kind, or undefined when none were given. */
export function correctionFor(input: FeedbackInput, kind: GridKind): Correction | undefined {
  const { objects, hasObject } = input;
  if (objects === undefined || objects === null) {
    if (hasObject === undefined || hasObject === null) return undefined;
    if (kind !== '1x1') throw fail(`hasObject is for a 1x1 task; this task is ${kind}: send the right cells as "objects" (indices 0-${kind === '3x3' ? 8 : 15})`);
    if (typeof hasObject !== 'boolean') throw fail(`hasObject has the wrong type: expected true or false, got ${aJsonType(hasObject)}`);
    return { hasObject };
  }
  if (kind === '1x1') throw fail('objects is for a 3x3 or 4x4 task; this task is 1x1: send "hasObject": true or false');
  const cells = kind === '3x3' ? 9 : 16;
  if (!Array.isArray(objects) || !objects.every((i) => Number.isInteger(i) && i >= 0 && i < cells)) {
    throw fail(`objects must be an array of cell indices from 0 to ${cells - 1} (the ${kind} task's cells, left to right, top to bottom), got ${JSON.stringify(objects).slice(0, 60)}`);
  }
  return { objects: [...new Set(objects as number[])].sort((a, b) => a - b) };
}

/**
 * Request bodies of the vendor protocol, validated at the boundary. Unknown keys are ignored
 * everywhere (softId, appId, callbackUrl, websiteURL, marker keys...). Each failure names the
 * field and what is allowed.
 */
import { ProtocolError, type ErrorCode } from './errors.js';
import { parseDecimal } from './numbers.js';
import { describeQuestion, promptGrid, resolveQuestion, suggestQuestions, type Question } from './questions.js';
import { GRID_KINDS, isGridKind, type GridKind } from '../imaging/grid.js';

export const TASK_TYPE = 'ReCaptchaV2Classification';

export interface CreateTaskInput {
  image: string;
  question: Question;
  confidence?: number;
  grid?: GridKind;
  /** The kind the prompt text names ("images" 3x3, "squares" 4x4), for a screenshot of another size. */
  promptGrid?: GridKind;
  scores: boolean;
}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JSON type of a value as a client would name it: string, number, boolean, null, array, object. */
export function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** "a number", "an array", "null": for "got ..." in a description. */
export function aJsonType(v: unknown): string {
  const t = jsonType(v);
  return t === 'null' ? 'null' : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * A required string field: absent (or empty) is "missing", any other type is "has the wrong type".
 * what: the sentence after the field's name, e.g. 'send a question ID such as "/m/015qff"'.
 */
function requiredString(v: unknown, field: string, what: string, code: ErrorCode = 'ERROR_REQUIRED_FIELDS'): string {
  if (v === undefined || v === null || v === '') throw new ProtocolError(code, `${field} is missing: ${what}`);
  if (typeof v !== 'string') throw new ProtocolError(code, `${field} has the wrong type: expected a string, got ${aJsonType(v)} (${shown(v)}); ${what}`);
  if (v.trim() === '') throw new ProtocolError(code, `${field} is blank: ${what}`);
  return v;
}

export function asBody(body: unknown): Json {
  if (!isObject(body)) throw new ProtocolError('ERROR_REQUIRED_FIELDS', 'the request body must be a JSON object such as {"clientKey": "...", "task": {...}}');
  return body;
}

export function clientKeyOf(body: Json): string {
  return requiredString(body.clientKey, 'clientKey', 'send your account key as a string in "clientKey"', 'ERROR_KEY_DOES_NOT_EXIST');
}

/** task.confidence: a number or a decimal string ("0.5", not "0x1" or "5e-1") from 0 to 1; undefined, null and "" mean absent. */
export function parseConfidence(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? (parseDecimal(v) ?? Number.NaN) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    const shown = typeof v === 'string' && v.length > 40 ? `${v.slice(0, 40)}…` : v;
    throw new ProtocolError('ERROR_REQUIRED_FIELDS', `task.confidence must be a number from 0.0 to 1.0 (a JSON number or a decimal string such as "0.5"; "" means absent), got ${JSON.stringify(shown)}`);
  }
  return n;
}

export function parseCreateTask(body: Json): CreateTaskInput {
  const task = body.task;
  const taskShape = 'send an object {"type": "ReCaptchaV2Classification", "image": "<base64>", "question": "/m/..."}';
  if (task === undefined || task === null) throw new ProtocolError('ERROR_REQUIRED_FIELDS', `task is missing: ${taskShape}`);
  if (!isObject(task)) throw new ProtocolError('ERROR_REQUIRED_FIELDS', `task has the wrong type: expected an object, got ${aJsonType(task)}; ${taskShape}`);
  const type = requiredString(task.type, 'task.type', `it must be "${TASK_TYPE}"`);
  if (type !== TASK_TYPE) {
    const shown = type.length > 60 ? `${type.slice(0, 60)}…` : type;
    throw new ProtocolError('ERROR_TASK_NOT_SUPPORTED', `task.type ${JSON.stringify(shown)} is not served; gridlens serves only "${TASK_TYPE}"`);
  }
  const image = requiredString(task.image, 'task.image', 'send the picture as a base64 string (JPEG, PNG, WebP or GIF)');
  const text = requiredString(task.question, 'task.question', 'send a question ID such as "/m/015qff" (or the prompt text)');
  const question = resolveQuestion(text);
  if (!question) {
    const near = suggestQuestions(text).map((q) => `"${q.english}" (${q.id})`);
    const hint = near.length ? ` did you mean ${near.join(' or ')}?` : '';
    throw new ProtocolError('ERROR_UNKNOWN_QUESTION', `task.question ${describeQuestion(text)} is not a known question;${hint} use an ID from the table (e.g. "/m/015qff" traffic lights, "/m/0k4j" cars), or English/Chinese prompt text; GET /questions lists them`);
  }
  const grid = task.grid;
  if (grid !== undefined && grid !== null && grid !== '' && !isGridKind(grid)) {
    throw new ProtocolError('ERROR_REQUIRED_FIELDS', `task.grid must be one of ${GRID_KINDS.map((g) => `"${g}"`).join(', ')}, got ${JSON.stringify(grid).slice(0, 40)}`);
  }
  // null means absent, as for grid and confidence (clients send null for options they leave unset)
  if (task.scores !== undefined && task.scores !== null && typeof task.scores !== 'boolean') {
    throw new ProtocolError('ERROR_REQUIRED_FIELDS', `task.scores must be true or false, got ${JSON.stringify(task.scores).slice(0, 40)}`);
  }
  return {
    image,
    question,
    confidence: parseConfidence(task.confidence),
    grid: isGridKind(grid) ? grid : undefined,
    promptGrid: promptGrid(text),
    scores: task.scores === true,
  };
}

export function taskIdOf(body: Json): string {
  return requiredString(body.taskId, 'taskId', 'send the "taskId" string that createTask returned');
}

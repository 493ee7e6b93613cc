/**
 * Request bodies of the vendor protocol, validated at the boundary. Unknown keys are ignored
 * everywhere (softId, appId, callbackUrl, websiteURL, marker keys...). Each failure names the
 * field and what is allowed.
 */
import { ProtocolError } from './errors.js';
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

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asBody(body: unknown): Json {
  if (!isObject(body)) throw new ProtocolError('ERROR_REQUIRED_FIELDS', 'the request body must be a JSON object such as {"clientKey": "...", "task": {...}}');
  return body;
}

export function clientKeyOf(body: Json): string {
  const key = body.clientKey;
  if (typeof key !== 'string' || key.length === 0) {
    throw new ProtocolError('ERROR_KEY_DOES_NOT_EXIST', 'clientKey is missing: send your account key as a string in "clientKey"');
  }
  return key;
}

/** task.confidence: a number or numeric string from 0 to 1; undefined, null and "" mean absent. */
export function parseConfidence(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    const shown = typeof v === 'string' && v.length > 40 ? `${v.slice(0, 40)}…` : v;
    throw new ProtocolError('ERROR_REQUIRED_FIELDS', `task.confidence must be a number from 0.0 to 1.0 (a number or numeric string; "" means absent), got ${JSON.stringify(shown)}`);
  }
  return n;
}

export function parseCreateTask(body: Json): CreateTaskInput {
  const task = body.task;
  if (!isObject(task)) throw new ProtocolError('ERROR_REQUIRED_FIELDS', 'task is missing: send an object {"type": "ReCaptchaV2Classification", "image": "<base64>", "question": "/m/..."}');
  if (typeof task.type !== 'string') throw new ProtocolError('ERROR_REQUIRED_FIELDS', `task.type is missing: it must be "${TASK_TYPE}"`);
  if (task.type !== TASK_TYPE) {
    const shown = task.type.length > 60 ? `${task.type.slice(0, 60)}…` : task.type;
    throw new ProtocolError('ERROR_TASK_NOT_SUPPORTED', `task.type ${JSON.stringify(shown)} is not served; gridlens serves only "${TASK_TYPE}"`);
  }
  if (typeof task.image !== 'string' || task.image.length === 0) {
    throw new ProtocolError('ERROR_REQUIRED_FIELDS', 'task.image is missing: send the picture as a base64 string (JPEG, PNG, WebP or GIF)');
  }
  if (typeof task.question !== 'string' || task.question.trim().length === 0) {
    throw new ProtocolError('ERROR_REQUIRED_FIELDS', 'task.question is missing: send a question ID such as "/m/015qff" (or the prompt text)');
  }
  const question = resolveQuestion(task.question);
  if (!question) {
    const near = suggestQuestions(task.question).map((q) => `"${q.english}" (${q.id})`);
    const hint = near.length ? ` did you mean ${near.join(' or ')}?` : '';
    throw new ProtocolError('ERROR_UNKNOWN_QUESTION', `task.question ${describeQuestion(task.question)} is not a known question;${hint} use an ID from the table (e.g. "/m/015qff" traffic lights, "/m/0k4j" cars), or English/Chinese prompt text; GET /questions lists them`);
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
    image: task.image,
    question,
    confidence: parseConfidence(task.confidence),
    grid: isGridKind(grid) ? grid : undefined,
    promptGrid: promptGrid(task.question),
    scores: task.scores === true,
  };
}

export function taskIdOf(body: Json): string {
  const id = body.taskId;
  if (typeof id !== 'string' || id.length === 0) {
    throw new ProtocolError('ERROR_REQUIRED_FIELDS', 'taskId is missing: send the "taskId" string that createTask returned');
  }
  return id;
}

/**
 * Configuration: one table of settings (env var, default with units, description), parsed
 * once, validated, frozen. `gridlens serve --help` and the README print the same table.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file runs from dist/src/config.js. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

type Kind = 'int' | 'string' | 'number' | 'bool';

interface Setting {
  env: string;
  kind: Kind;
  default: string | number;
  min?: number;
  max?: number;
  /** For a string setting: the only values allowed. */
  oneOf?: readonly string[];
  help: string;
}

/** A setting with a value it does not allow: one line naming both and what is allowed (exit code 2, no stack). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const BOOL_WORDS: Readonly<Record<string, boolean>> = { '1': true, true: true, on: true, yes: true, '0': false, false: false, off: false, no: false, '': false };

export const SETTINGS = {
  port: { env: 'PORT', kind: 'int', default: 8080, min: 0, max: 65535, help: 'TCP port to listen on' },
  host: { env: 'HOST', kind: 'string', default: '0.0.0.0', help: 'address to bind' },
  dbPath: { env: 'DB_PATH', kind: 'string', default: 'data/gridlens.sqlite', help: 'SQLite file for accounts and the ledger (relative to the project root)' },
  modelDir: { env: 'MODEL_DIR', kind: 'string', default: 'models/gridlens-tiles', help: 'the tile model (model.json + model.onnx): 3x3 and 1x1, and 4x4 square by square when MODEL_DIR_4X4 is empty' },
  modelDir4x4: { env: 'MODEL_DIR_4X4', kind: 'string', default: 'models/gridlens-grid4', help: 'the model for 4x4 pictures (the whole picture in, a score per square); empty: the tile model answers them square by square' },
  inferenceWorkers: { env: 'INFERENCE_WORKERS', kind: 'int', default: 2, min: 1, help: 'worker threads each owning an onnxruntime session' },
  inferenceThreads: { env: 'INFERENCE_THREADS', kind: 'int', default: 1, min: 1, help: 'intra-op threads per session' },
  bodyLimitBytes: { env: 'BODY_LIMIT_BYTES', kind: 'int', default: 8 * 1024 * 1024, min: 1024, help: 'largest request body accepted, bytes (8 MiB)' },
  headersTimeoutMs: { env: 'HEADERS_TIMEOUT_MS', kind: 'int', default: 10_000, min: 100, help: 'a request\'s headers must arrive within this, ms (10 s); then 408 and the connection is closed' },
  requestTimeoutMs: { env: 'REQUEST_TIMEOUT_MS', kind: 'int', default: 30_000, min: 100, help: 'a whole request (headers and body) must arrive within this, ms (30 s); then 408 and the connection is closed' },
  keepAliveTimeoutMs: { env: 'KEEP_ALIVE_TIMEOUT_MS', kind: 'int', default: 5_000, min: 100, help: 'an idle keep-alive connection is closed after this, ms (5 s)' },
  maxConnections: { env: 'MAX_CONNECTIONS', kind: 'int', default: 10_000, min: 1, help: 'open connections at most; one more is answered ERROR_NO_SLOT_AVAILABLE and closed (keep it below the process\'s file descriptor limit)' },
  shutdownTimeoutMs: { env: 'SHUTDOWN_TIMEOUT_MS', kind: 'int', default: 10_000, min: 0, help: 'on SIGTERM/SIGINT: tasks in flight get this long to finish, then every connection is closed and the process exits, ms (10 s)' },
  maxImagePixels: { env: 'MAX_IMAGE_PIXELS', kind: 'int', default: 4096 * 4096, min: 10000, help: 'largest declared image area decoded, pixels (guards against decompression bombs)' },
  decodeConcurrency: { env: 'DECODE_CONCURRENCY', kind: 'int', default: 2, min: 1, help: 'pictures larger than 450x450 decoded at once in this process (smaller ones never wait)' },
  decodePerKey: { env: 'DECODE_PER_KEY', kind: 'int', default: 1, min: 1, help: 'pictures larger than 450x450 decoded at once for one key; its others wait, other keys do not' },
  taskTtlSeconds: { env: 'TASK_TTL_SECONDS', kind: 'int', default: 600, min: 300, help: 'how long getTaskResult can read a result, seconds' },
  maxStoredTasks: { env: 'MAX_STORED_TASKS', kind: 'int', default: 200000, min: 1000, help: 'results kept in memory at most (oldest dropped first, never before the TTL unless over this)' },
  maxStoredPictureBytes: { env: 'MAX_STORED_PICTURE_BYTES', kind: 'int', default: 256 * 1024 * 1024, min: 0, help: 'bytes of task pictures kept beside the results for reports (without Redis: in the SQLite file, or in memory with DATABASE_URL; oldest dropped first; 256 MiB)' },
  feedbackRefund: { env: 'FEEDBACK_REFUND', kind: 'bool', default: 'off', help: 'on: a task reported wrong (feedbackTask, reportIncorrectImageCaptcha) is refunded, a ledger row each' },
  feedbackRefundMaxPerDay: { env: 'FEEDBACK_REFUND_MAX_PER_DAY', kind: 'int', default: 20, min: 0, help: 'with FEEDBACK_REFUND: refunds per key per UTC day at most' },
  price3x3: { env: 'PRICE_3X3', kind: 'int', max: Number.MAX_SAFE_INTEGER, default: 6, min: 0, help: 'points charged for a 3x3 image' },
  price4x4: { env: 'PRICE_4X4', kind: 'int', max: Number.MAX_SAFE_INTEGER, default: 6, min: 0, help: 'points charged for a 4x4 image' },
  price1x1: { env: 'PRICE_1X1', kind: 'int', max: Number.MAX_SAFE_INTEGER, default: 2, min: 0, help: 'points charged for a 1x1 tile' },
  rateLimitRps: { env: 'RATE_LIMIT_RPS', kind: 'int', default: 200, min: 0, help: 'requests per second per key (0 = unlimited)' },
  maxTasksInFlight: { env: 'MAX_TASKS_IN_FLIGHT', kind: 'int', default: 32, min: 0, help: 'tasks in flight per key (0 = unlimited)' },
  chargeJournal: { env: 'CHARGE_JOURNAL', kind: 'string', default: 'data/charges-in-doubt.jsonl', help: 'with DATABASE_URL: file (one per node) of charges whose outcome was unknown when the database dropped; settled, and refunded if they went through, once it is back, even after a restart' },
  databaseUrl: { env: 'DATABASE_URL', kind: 'string', default: '', help: 'postgres://... to keep accounts in PostgreSQL (shared by several nodes); empty: SQLite at DB_PATH' },
  pgPoolSize: { env: 'PG_POOL_SIZE', kind: 'int', default: 20, min: 1, help: 'with DATABASE_URL: connections per node' },
  pgPoolWaitMs: { env: 'PG_POOL_WAIT_MS', kind: 'int', default: 5000, min: 100, help: 'with DATABASE_URL: how long a request waits for a pooled connection, ms; a wait that runs out while every connection is busy is answered ERROR_NO_SLOT_AVAILABLE, not "unreachable"' },
  pgQueueMax: { env: 'PG_QUEUE_MAX', kind: 'int', default: 500, min: 0, help: 'with DATABASE_URL: requests waiting for a connection at most; one more is answered ERROR_NO_SLOT_AVAILABLE at once, nothing charged' },
  redisUrl: { env: 'REDIS_URL', kind: 'string', default: '', help: 'redis://... to share task results and rate counters between nodes; empty: in this process' },
  redisPrefix: { env: 'REDIS_PREFIX', kind: 'string', default: 'gridlens:', help: 'prefix of every Redis key' },
  samplesDir: { env: 'SAMPLES_DIR', kind: 'string', default: '../shared/data', help: 'data set folder the playground (GET /) takes sample challenges from; missing: no samples' },
  logLevel: { env: 'LOG_LEVEL', kind: 'string', default: 'info', oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], help: 'pino level: fatal, error, warn, info, debug, trace, silent' },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;
export type Config = Readonly<{
  [K in SettingName]: (typeof SETTINGS)[K]['kind'] extends 'string' ? string : (typeof SETTINGS)[K]['kind'] extends 'bool' ? boolean : number;
}>;

function parseValue(name: SettingName, raw: string | number | boolean): string | number | boolean {
  const s: Setting = SETTINGS[name];
  const got = `got ${JSON.stringify(raw)}`;
  if (s.kind === 'string') {
    if (s.oneOf && !s.oneOf.includes(String(raw))) throw new ConfigError(`${s.env} (${name}) must be one of ${s.oneOf.join(', ')}; ${got}`);
    return String(raw);
  }
  if (s.kind === 'bool') {
    const b = typeof raw === 'boolean' ? raw : BOOL_WORDS[String(raw).trim().toLowerCase()];
    if (b === undefined) throw new ConfigError(`${s.env} (${name}) must be on or off (also 1/0, true/false, yes/no); ${got}`);
    return b;
  }
  // decimal digits only: Number() would also read "0x10", "1e3" and " 8 " (issue 19)
  const decimal = typeof raw === 'number' || (s.kind === 'int' ? /^-?\d+$/ : /^-?(\d+(\.\d*)?|\.\d+)$/).test(String(raw));
  const n = decimal ? Number(raw) : Number.NaN;
  const ok = s.kind === 'int' ? Number.isSafeInteger(n) : Number.isFinite(n);
  if (!ok || (s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
    const range = s.min !== undefined && s.max !== undefined ? ` from ${s.min} to ${s.max}` : s.min !== undefined ? ` >= ${s.min}` : s.max !== undefined ? ` <= ${s.max}` : '';
    throw new ConfigError(`${s.env} (${name}) must be ${s.kind === 'int' ? 'an integer' : 'a number'}${range}, ${got}${decimal ? '' : ' (decimal digits only)'}`);
  }
  return n;
}

/** Defaults, overridden by the environment, overridden by explicit values (CLI flags, tests). */
export function loadConfig(overrides: Partial<Record<SettingName, string | number | boolean>> = {}, env = process.env): Config {
  const out: Record<string, string | number | boolean> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const raw = overrides[name] ?? env[SETTINGS[name].env] ?? SETTINGS[name].default;
    out[name] = parseValue(name, raw);
  }
  // Node refuses a headers timeout longer than the request timeout (http.createServer throws)
  if ((out.headersTimeoutMs as number) > (out.requestTimeoutMs as number)) {
    throw new Error(`HEADERS_TIMEOUT_MS (${out.headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${out.requestTimeoutMs})`);
  }
  return Object.freeze(out) as Config;
}

export function resolveFromRoot(p: string): string {
  return path.isAbsolute(p) || p === ':memory:' ? p : path.join(PROJECT_ROOT, p);
}

export function settingsTable(): string {
  return (Object.keys(SETTINGS) as SettingName[])
    .map((n) => `  ${SETTINGS[n].env.padEnd(20)} ${String(SETTINGS[n].default).padEnd(24)} ${SETTINGS[n].help}`)
    .join('\n');
}

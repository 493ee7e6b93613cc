/**
 * Builds the service (models, workers, accounts, HTTP) from a Config; server.ts runs it.
 * Plugins and routes are registered explicitly here, in one place.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { ConfigError, PROJECT_ROOT, resolveFromRoot, type Config } from './config.js';
import { KeyLimits } from './accounts/limits.js';
import { openPostgresStore } from './accounts/postgres-store.js';
import { openSqliteStore } from './accounts/sqlite-store.js';
import type { AccountStore } from './accounts/store.js';
import { createMetrics } from './http/metrics.js';
import { registerRoutes } from './http/routes.js';
import { InferencePool } from './inference/pool.js';
import { loadModel } from './model/manifest.js';
import { loadSamples } from './playground/samples.js';
import { ProtocolError, envelopeOf } from './protocol/errors.js';
import { Solver, type ServingModel } from './solver/solver.js';
import { connectRedis, RedisRateLimiter, RedisResults } from './tasks/redis-shared.js';
import { ResultStore, type TaskResults } from './tasks/result-store.js';
import { TaskService } from './tasks/service.js';

export interface Service {
  app: FastifyInstance;
  tasks: TaskService;
  accounts: AccountStore;
  solver: Solver;
  close(): Promise<void>;
}

/** role "tiles": MODEL_DIR, which must be a tile model; "4x4": MODEL_DIR_4X4, a tile or picture model. */
async function serving(dir: string, role: 'tiles' | '4x4', config: Config, onBatch?: (batch: number, ms: number) => void): Promise<ServingModel> {
  const setting = role === 'tiles' ? 'MODEL_DIR' : 'MODEL_DIR_4X4';
  let model: ReturnType<typeof loadModel>;
  try {
    model = loadModel(resolveFromRoot(dir));
  } catch (err) {
    throw new ConfigError(`${setting} ${JSON.stringify(dir)}: ${(err as Error).message}; it must be a model folder with model.json and model.onnx, such as ${role === 'tiles' ? 'models/gridlens-tiles' : 'models/gridlens-grid4 (or empty)'}`);
  }
  if (role === 'tiles' && model.manifest.input.unit === 'picture') {
    throw new ConfigError(`MODEL_DIR ${dir} holds a 4x4 picture model (input.unit "picture"); it belongs in MODEL_DIR_4X4, MODEL_DIR needs a tile model such as models/gridlens-tiles`);
  }
  const pool = await InferencePool.start(model, config.inferenceWorkers, config.inferenceThreads);
  if (onBatch) pool.onBatch = onBatch;
  return { model, pool };
}

/** Inference workers for the tile model, and for a dedicated 4x4 model when MODEL_DIR_4X4 is set. */
export async function startSolver(config: Config, onBatch?: (batch: number, ms: number) => void): Promise<Solver> {
  const tiles = await serving(config.modelDir, 'tiles', config, onBatch);
  const grid4 = config.modelDir4x4 ? await serving(config.modelDir4x4, '4x4', config, onBatch) : undefined;
  return new Solver(tiles, grid4);
}

function errorBody(err: Error & { code?: string; statusCode?: number }, config: Config) {
  if (err instanceof ProtocolError) return envelopeOf(err);
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return envelopeOf(new ProtocolError('ERROR_PARSE_IMAGE_FAIL', `the request body is larger than ${config.bodyLimitBytes} bytes (BODY_LIMIT_BYTES); task.image must be a reCAPTCHA picture (100x100, 300x300 or 450x450), a few hundred kB at most`));
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return envelopeOf(new ProtocolError('ERROR_REQUIRED_FIELDS', 'the request body must be a JSON object such as {"clientKey": "...", "task": {...}}'));
  }
  return envelopeOf(new ProtocolError('ERROR_INTERNAL_SERVER_ERROR', 'an unexpected error occurred; it has been logged'));
}

export async function buildService(config: Config, opts: { accounts?: AccountStore; solver?: Solver } = {}): Promise<Service> {
  const metrics = createMetrics();
  const solver = opts.solver ?? (await startSolver(config, (n, ms) => {
    metrics.batch.observe(n);
    metrics.inference.observe(ms / 1000);
  }));
  for (const { model } of solver.models()) metrics.model.set({ name: model.manifest.name, version: model.manifest.version, sha256: model.manifest.sha256.slice(0, 12) }, 1);
  const accounts = opts.accounts ?? (config.databaseUrl ? await openPostgresStore(config.databaseUrl, { journal: resolveFromRoot(config.chargeJournal) }) : openSqliteStore(resolveFromRoot(config.dbPath)));
  const limits = new KeyLimits(config.rateLimitRps, config.maxTasksInFlight);
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const results: TaskResults = redis ? new RedisResults(redis, config.redisPrefix, config.taskTtlSeconds) : new ResultStore(config.taskTtlSeconds * 1000, config.maxStoredTasks);
  const rate = redis ? new RedisRateLimiter(redis, config.redisPrefix, config.rateLimitRps) : limits;
  const tasks = new TaskService({
    config, accounts, limits, rate, solver, results,
    hooks: {
      onSolved(kind, points, ms) {
        metrics.latency.observe({ kind }, ms / 1000);
        metrics.charged.inc({ kind }, points);
      },
    },
  });

  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'body.clientKey', 'body.task.image'], censor: '[redacted]' },
    },
    // One line per request costs real time at hundreds of requests/s: only at debug/trace.
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace' }),
  });
  // Any content type is read as JSON: some clients send text/plain or no type at all.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (err) {
      done(new ProtocolError('ERROR_REQUIRED_FIELDS', `the request body is not valid JSON (${(err as Error).message.slice(0, 120)}); send a JSON object such as {"clientKey": "...", "task": {...}}`), undefined);
    }
  });
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    const body = errorBody(err, config);
    if (body.errorCode === 'ERROR_INTERNAL_SERVER_ERROR') req.log.error({ err }, 'unexpected error');
    metrics.requests.inc({ endpoint: req.routeOptions.url ?? 'unknown', error_code: body.errorCode });
    reply.code(200).send(body);
  });
  // Every route registered below, so a wrong path is answered with the real list.
  const endpoints: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method === 'POST' || method === 'GET') endpoints.push(`${method} ${route.url}`);
  });
  app.setNotFoundHandler((req, reply) => {
    const post = endpoints.filter((e) => e.startsWith('POST ')).map((e) => e.slice(5));
    const get = endpoints.filter((e) => e.startsWith('GET ')).map((e) => e.slice(4));
    const shown = JSON.stringify(`${req.method} ${req.url.split('?')[0]!.slice(0, 100)}`);
    reply.code(404).send(envelopeOf(new ProtocolError('ERROR_NO_SUCH_METHOD', `no endpoint ${shown}; the protocol's endpoints are POST ${post.join(', ')} (JSON body); also GET ${get.join(', ')}`)));
  });

  registerRoutes(app, {
    tasks, metrics,
    playground: readFileSync(path.join(PROJECT_ROOT, 'public', 'index.html'), 'utf8'),
    samples: loadSamples(resolveFromRoot(config.samplesDir)),
    questions: () => solver.questionTable(),
    ready: async () => {
      const checks: Record<string, string> = { model: 'ok', database: 'ok' };
      await accounts.ping().catch((err: Error) => { checks.database = `down: ${err.message}`; });
      if (redis) {
        checks.redis = 'ok';
        await results.ping().catch((err: Error) => { checks.redis = `down: ${err.message}`; });
      }
      return checks;
    },
  });

  return {
    app, tasks, accounts, solver,
    async close() {
      await app.close();
      await Promise.all(solver.models().map((m) => m.pool.close()));
      await accounts.close();
      redis?.disconnect();
    },
  };
}

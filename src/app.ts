/**
 * Builds the service (models, workers, accounts, HTTP) from a Config; server.ts runs it.
 * Plugins and routes are registered explicitly here, in one place.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConfigError, PROJECT_ROOT, resolveFromRoot, type Config } from './config.js';
import { KeyLimits } from './accounts/limits.js';
import { openPostgresStore } from './accounts/postgres-store.js';
import { openSqliteStore } from './accounts/sqlite-store.js';
import type { AccountStore } from './accounts/store.js';
import { clientErrorHandler, endedByServer, guardConnections, type ConnectionGuard } from './http/connections.js';
import { createMetrics } from './http/metrics.js';
import { closeHttp, InFlight } from './http/shutdown.js';
import { registerRoutes } from './http/routes.js';
import { InferencePool } from './inference/pool.js';
import { loadModel } from './model/manifest.js';
import { loadSamples } from './playground/samples.js';
import { ProtocolError, envelopeOf } from './protocol/errors.js';
import { refuseDeepNesting } from './protocol/nesting.js';
import { Solver, type ServingModel } from './solver/solver.js';
import { connectRedis, RedisRateLimiter, RedisResults } from './tasks/redis-shared.js';
import { ResultStore, type TaskResults } from './tasks/result-store.js';
import { TaskService } from './tasks/service.js';
import { SqliteResults } from './tasks/sqlite-results.js';

export interface Service {
  app: FastifyInstance;
  tasks: TaskService;
  accounts: AccountStore;
  solver: Solver;
  connections: ConnectionGuard;
  /** Requests whose handler is running (shutdown waits for them). */
  inFlight: InFlight;
  close(): Promise<void>;
  /** Bounded: stop accepting, finish requests in flight, drop stalled sockets, close everything; false if something ran past timeoutMs. */
  shutdown(timeoutMs: number): Promise<boolean>;
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

/** Results: Redis when shared; else the SQLite file, so they survive a restart; in memory for PostgreSQL without Redis or :memory:. */
function resultsFor(config: Config, redis: ReturnType<typeof connectRedis> | undefined): TaskResults {
  const ttlMs = config.taskTtlSeconds * 1000;
  if (redis) return new RedisResults(redis, config.redisPrefix, config.taskTtlSeconds);
  if (config.databaseUrl || config.dbPath === ':memory:') return new ResultStore(ttlMs, config.maxStoredTasks, undefined, config.maxStoredPictureBytes);
  return new SqliteResults(resolveFromRoot(config.dbPath), ttlMs, config.maxStoredTasks, undefined, config.maxStoredPictureBytes);
}

/** One label per endpoint, whichever layer failed: the route's path without its slash ("createTask"). */
export function endpointLabel(req: FastifyRequest): string {
  return req.routeOptions.url?.replace(/^\//, '') || 'not_found';
}

/** The client closed the connection while its request was being read (Node: "aborted", ECONNRESET). */
function clientAborted(err: Error & { code?: string }, raw: IncomingMessage): boolean {
  return err.code === 'ECONNRESET' || err.message === 'aborted' || (raw.destroyed && raw.socket?.destroyed === true);
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

export async function buildService(config: Config, opts: { accounts?: AccountStore; solver?: Solver; logStream?: NodeJS.WritableStream } = {}): Promise<Service> {
  const metrics = createMetrics();
  const solver = opts.solver ?? (await startSolver(config, (n, ms) => {
    metrics.batch.observe(n);
    metrics.inference.observe(ms / 1000);
  }));
  for (const { model } of solver.models()) metrics.model.set({ name: model.manifest.name, version: model.manifest.version, sha256: model.manifest.sha256.slice(0, 12) }, 1);
  const accounts = opts.accounts ?? (config.databaseUrl ? await openPostgresStore(config.databaseUrl, { journal: resolveFromRoot(config.chargeJournal) }, { size: config.pgPoolSize, waitMs: config.pgPoolWaitMs, queueMax: config.pgQueueMax, onBusy: (reason) => metrics.dbBusy.inc({ reason }) }) : openSqliteStore(resolveFromRoot(config.dbPath)));
  const limits = new KeyLimits(config.rateLimitRps, config.maxTasksInFlight);
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const results = resultsFor(config, redis);
  const rate = redis ? new RedisRateLimiter(redis, config.redisPrefix, config.rateLimitRps) : limits;
  const tasks = new TaskService({
    config, accounts, limits, rate, solver, results,
    hooks: {
      onSolved(kind, points, ms) {
        metrics.latency.observe({ kind }, ms / 1000);
        metrics.charged.inc({ kind }, points);
      },
      onDecode(large, ms) {
        metrics.decodes.observe({ size: large ? 'large' : 'small' }, ms / 1000);
      },
    },
  });

  const timeouts = { headersTimeoutMs: config.headersTimeoutMs, requestTimeoutMs: config.requestTimeoutMs };
  const app: FastifyInstance = Fastify({
    bodyLimit: config.bodyLimitBytes,
    // Hostile connections (issue 19): headers, then the whole request, must arrive in time, and an
    // idle keep-alive connection is closed; Node checks these every second instead of every 30 s.
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: { headersTimeout: config.headersTimeoutMs, requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 },
    // malformed URLs and over-long path parameters: the envelope too, not Fastify's body
    frameworkErrors: (err, req, reply: FastifyReply) => {
      metrics.requests.inc({ endpoint: 'not_found', error_code: 'ERROR_REQUIRED_FIELDS' });
      req.log.info({ code: err.code }, 'bad URL');
      void reply.code(err.statusCode ?? 400).send(envelopeOf(new ProtocolError('ERROR_REQUIRED_FIELDS', `the URL is not valid or too long (${err.code}); the protocol's endpoints are ${endpointList()}`)));
    },
    return503OnClosing: false, // shutdown.ts answers with the envelope instead
    clientErrorHandler: clientErrorHandler(timeouts, () => app.log, (reason) => metrics.clientErrors.inc({ reason })),
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'body.clientKey', 'body.task.image'], censor: '[redacted]' },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    // One line per request costs real time at hundreds of requests/s: only at debug/trace.
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace' }),
  });
  // Any content type is read as JSON: some clients send text/plain or no type at all.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      const parsed: unknown = body === '' ? undefined : JSON.parse(body as string);
      refuseDeepNesting(parsed);
      done(null, parsed);
    } catch (err) {
      if (err instanceof ProtocolError) return done(err, undefined);
      done(new ProtocolError('ERROR_REQUIRED_FIELDS', `the request body is not valid JSON (${(err as Error).message.slice(0, 120)}); send a JSON object such as {"clientKey": "...", "task": {...}}`), undefined);
    }
  });
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (clientAborted(err, req.raw)) {
      // the client went away mid-request: its doing, not ours; no stack, counted apart (unless the
      // server itself ended the connection for an HTTP-level error, already counted as that)
      if (!endedByServer.has(req.raw.socket)) {
        req.log.info({ endpoint: endpointLabel(req), code: err.code }, 'client aborted the request');
        metrics.clientErrors.inc({ reason: 'client_aborted' });
      }
      return reply.code(200).send(envelopeOf(new ProtocolError('ERROR_REQUIRED_FIELDS', 'the request ended before its body was complete')));
    }
    const body = errorBody(err, config);
    if (body.errorCode === 'ERROR_INTERNAL_SERVER_ERROR') req.log.error({ err }, 'unexpected error');
    metrics.requests.inc({ endpoint: endpointLabel(req), error_code: body.errorCode });
    reply.code(200).send(body);
  });
  // Every route registered below, so a wrong path is answered with the real list.
  const endpoints: string[] = [];
  const endpointList = (): string => {
    const post = endpoints.filter((e) => e.startsWith('POST ')).map((e) => e.slice(5));
    const get = endpoints.filter((e) => e.startsWith('GET ')).map((e) => e.slice(4));
    return `POST ${post.join(', ')} (JSON body); also GET ${get.join(', ')}`;
  };
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method === 'POST' || method === 'GET') endpoints.push(`${method} ${route.url}`);
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.requests.inc({ endpoint: 'not_found', error_code: 'ERROR_NO_SUCH_METHOD' });
    const shown = JSON.stringify(`${req.method} ${req.url.split('?')[0]!.slice(0, 100)}`);
    reply.code(404).send(envelopeOf(new ProtocolError('ERROR_NO_SUCH_METHOD', `no endpoint ${shown}; the protocol's endpoints are ${endpointList()}`)));
  });

  const inFlight = new InFlight();
  inFlight.register(app);
  // During a shutdown, a request arriving on a connection that was already open is told to go elsewhere.
  app.addHook('onRequest', async (_req, reply) => {
    if (!inFlight.closing) return;
    reply.header('connection', 'close');
    throw new ProtocolError('ERROR_SERVICE_UNAVALIABLE', 'this node is shutting down; nothing was done or charged, retry (another node, or this one once restarted)');
  });
  const connections = guardConnections(app.server, config.maxConnections, () => metrics.clientErrors.inc({ reason: 'max_connections' }));

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

  const closeRest = async () => {
    await Promise.all(solver.models().map((m) => m.pool.close()));
    await accounts.close();
    await results.close?.();
    redis?.disconnect();
  };
  return {
    app, tasks, accounts, solver, connections, inFlight,
    async close() {
      await app.close();
      await closeRest();
    },
    async shutdown(timeoutMs) {
      const started = Date.now();
      const drained = await closeHttp(app, inFlight, connections, timeoutMs);
      const rest = await Promise.race([closeRest().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), Math.max(0, timeoutMs - (Date.now() - started))).unref())]);
      return drained && rest;
    },
  };
}

/** HTTP routes: thin wrappers that map domain results and ProtocolErrors onto the envelope. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProtocolError, envelopeOf } from '../protocol/errors.js';
import type { QuestionRow } from '../solver/coverage.js';
import type { TaskService } from '../tasks/service.js';
import type { Sample } from '../playground/samples.js';
import type { Metrics } from './metrics.js';
import { VERSION } from '../version.js';

const OK = { errorId: 0, errorCode: '', errorDescription: '' } as const;

export interface RouteDeps {
  tasks: TaskService;
  metrics: Metrics;
  ready: () => Promise<Record<string, string>>;
  playground: string;
  samples: Sample[];
  /** Every question with what the running models answer (Solver.questionTable). */
  questions: () => QuestionRow[];
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const protocol = (endpoint: string, run: (body: unknown) => Promise<object>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        const result = await run(req.body);
        deps.metrics.requests.inc({ endpoint, error_code: '' });
        return { ...OK, ...result };
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        deps.metrics.requests.inc({ endpoint, error_code: err.errorCode });
        reply.code(200);
        return envelopeOf(err);
      }
    };

  app.post('/createTask', protocol('createTask', (b) => deps.tasks.createTask(b)));
  app.post('/getTaskResult', protocol('getTaskResult', (b) => deps.tasks.getTaskResult(b)));
  app.post('/getBalance', protocol('getBalance', (b) => deps.tasks.getBalance(b)));
  app.post('/getSoftID', protocol('getSoftID', (b) => deps.tasks.getSoftId(b)));
  // Reports of a wrong answer, in CapSolver's and Anti-Captcha's shapes (shared/docs/protocol.md)
  app.post('/feedbackTask', protocol('feedbackTask', async (b) => {
    await deps.tasks.reportTask(b, 'feedbackTask');
    return { message: 'ok' };
  }));
  app.post('/reportIncorrectImageCaptcha', protocol('reportIncorrectImageCaptcha', async (b) => {
    await deps.tasks.reportTask(b, 'reportIncorrectImageCaptcha');
    return { status: 'success' };
  }));

  app.get('/health', async () => ({ status: 'ok', version: VERSION }));
  app.get('/ready', async (_req, reply) => {
    const checks = await deps.ready();
    const ok = Object.values(checks).every((v) => v === 'ok');
    reply.code(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'not ready', checks };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  app.get('/questions', async () => ({ questions: deps.questions() }));

  // The playground: one static page (public/index.html), plus sample challenges.
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(deps.playground));
  app.get('/samples', async () => ({ samples: deps.samples.map(({ bytes: _b, ...meta }) => meta) }));
  app.get<{ Params: { id: string } }>('/samples/:id', async (req, reply) => {
    const s = deps.samples.find((x) => x.id === req.params.id);
    if (!s) return reply.code(404).send({ errorId: 1, errorCode: 'ERROR_REQUIRED_FIELDS', errorDescription: `no sample ${req.params.id.slice(0, 40)}; GET /samples lists them` });
    return reply.type(s.mime).send(s.bytes);
  });
}

/**
 * A bounded shutdown (issue 19, case 2): stop accepting, let the requests whose handlers are
 * running finish, then close whatever is left (idle keep-alive sockets, clients stalled while
 * sending a body), all within a deadline. A request counts as in flight from preHandler (its body
 * has arrived and parsed) to onResponse (its answer is sent), so a stalled upload never holds the
 * shutdown and an answer is never cut mid-write.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConnectionGuard } from './connections.js';

export class InFlight {
  private readonly entered = new WeakSet<FastifyRequest>();
  private count = 0;
  private waiters: (() => void)[] = [];
  closing = false;

  /** Fastify hooks that count requests between preHandler and onResponse (or abort). */
  register(app: FastifyInstance): void {
    app.addHook('preHandler', async (req) => {
      this.entered.add(req);
      this.count += 1;
    });
    const leave = async (req: FastifyRequest) => {
      if (!this.entered.delete(req)) return;
      this.count -= 1;
      if (this.count === 0) for (const w of this.waiters.splice(0)) w();
    };
    app.addHook('onResponse', leave);
    app.addHook('onRequestAbort', leave);
  }

  get size(): number {
    return this.count;
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'late'> =>
  Promise.race([p, new Promise<'late'>((r) => setTimeout(() => r('late'), Math.max(0, ms)).unref())]);

/**
 * Stop the HTTP side within timeoutMs: true when every request in flight was answered in time.
 * The caller then closes the pools and the stores.
 */
export async function closeHttp(app: FastifyInstance, inFlight: InFlight, connections: ConnectionGuard, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  inFlight.closing = true;
  const closed = app.close(); // stops accepting; Fastify closes idle keep-alive sockets
  const drained = (await within(inFlight.idle(), deadline - Date.now())) !== 'late';
  // what is still open now is stalled (never reached a handler) or idle: nothing to wait for
  connections.destroyAll();
  await within(closed, deadline - Date.now());
  return drained;
}

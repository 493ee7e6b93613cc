/**
 * Redis for several gridlens processes: task results (getTaskResult from any node, kept
 * taskTtlSeconds) and per-key request counters. Commands fail fast while Redis is down
 * (no offline queue), which the service answers with ERROR_SERVICE_UNAVALIABLE; ioredis
 * reconnects by itself.
 */
import { Redis } from 'ioredis';
import { guarded } from '../accounts/unavailable.js';
import { tooManyRequests, type RateLimiter } from '../accounts/limits.js';
import type { Solution } from '../solver/select-cells.js';
import type { StoredTask, TaskContext, TaskResults } from './result-store.js';

export function connectRedis(url: string): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: (n) => Math.min(n * 100, 1000), lazyConnect: false });
  redis.on('error', () => { /* reported per command as ERROR_SERVICE_UNAVALIABLE; reconnects by itself */ });
  return redis;
}

export class RedisResults implements TaskResults {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly ttlSeconds: number) {}

  private key(taskId: string): string {
    return `${this.prefix}task:${taskId}`;
  }

  /** The picture travels as base64 inside the same key, so it expires with the result. */
  put(taskId: string, accountId: number, solution: Solution, context?: TaskContext): Promise<void> {
    const ctx = context ? { ...context, picture: context.picture?.toString('base64') } : undefined;
    return guarded('cache', async () => { await this.redis.set(this.key(taskId), JSON.stringify({ accountId, solution, context: ctx }), 'EX', this.ttlSeconds); });
  }

  async get(taskId: string, accountId: number): Promise<Solution | undefined> {
    return (await this.task(taskId, accountId))?.solution;
  }

  task(taskId: string, accountId: number): Promise<StoredTask | undefined> {
    return guarded('cache', async () => {
      const raw = await this.redis.get(this.key(taskId));
      if (!raw) return undefined;
      const entry = JSON.parse(raw) as { accountId: number; solution: Solution; context?: Omit<TaskContext, 'picture'> & { picture?: string } };
      if (entry.accountId !== accountId) return undefined;
      const context = entry.context ? { ...entry.context, picture: entry.context.picture ? Buffer.from(entry.context.picture, 'base64') : undefined } : undefined;
      return { solution: entry.solution, context };
    });
  }

  delete(taskId: string): Promise<void> {
    return guarded('cache', async () => { await this.redis.del(this.key(taskId)); });
  }

  ping(): Promise<void> {
    return guarded('cache', async () => { await this.redis.ping(); });
  }
}

/** Fixed one-second windows shared by every node: INCR on a key that expires after two seconds. */
export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly rps: number) {}

  async hit(accountId: number): Promise<void> {
    if (this.rps === 0) return;
    const key = `${this.prefix}rate:${accountId}:${Math.floor(Date.now() / 1000)}`;
    const n = await guarded('cache', async () => {
      const [[, count]] = (await this.redis.multi().incr(key).expire(key, 2).exec()) as [[Error | null, number]];
      return count;
    });
    if (n > this.rps) throw tooManyRequests(this.rps);
  }
}

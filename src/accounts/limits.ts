/**
 * Per-key limits: requests per second (ERROR_TOO_MUCH_REQUESTS) as a token bucket, and tasks
 * in flight (ERROR_THREADS_MAXIMUM, the vendor's name). In memory, per process.
 */
import { ProtocolError } from '../protocol/errors.js';

interface Bucket {
  tokens: number;
  at: number;
  inFlight: number;
}

/** Requests-per-second counting: in this process (KeyLimits) or shared in Redis (RedisRateLimiter). */
export interface RateLimiter {
  hit(accountId: number): Promise<void>;
}

export function tooManyRequests(rps: number): ProtocolError {
  return new ProtocolError('ERROR_TOO_MUCH_REQUESTS', `this key is limited to ${rps} requests per second (RATE_LIMIT_RPS); retry shortly`);
}

export class KeyLimits implements RateLimiter {
  private readonly buckets = new Map<number, Bucket>();

  constructor(private readonly rps: number, private readonly maxInFlight: number, private readonly now: () => number = Date.now) {}

  private bucket(id: number): Bucket {
    let b = this.buckets.get(id);
    if (!b) {
      b = { tokens: this.rps, at: this.now(), inFlight: 0 };
      this.buckets.set(id, b);
    }
    return b;
  }

  /** Count one request against the key's rate; throws when over it. */
  async hit(id: number): Promise<void> {
    if (this.rps === 0) return;
    const b = this.bucket(id);
    const t = this.now();
    b.tokens = Math.min(this.rps, b.tokens + ((t - b.at) / 1000) * this.rps);
    b.at = t;
    if (b.tokens < 1) throw tooManyRequests(this.rps);
    b.tokens -= 1;
  }

  /** Take a task slot; the returned function gives it back. */
  enter(id: number): () => void {
    const b = this.bucket(id);
    if (this.maxInFlight > 0 && b.inFlight >= this.maxInFlight) {
      throw new ProtocolError('ERROR_THREADS_MAXIMUM', `this key already has ${b.inFlight} tasks in flight, the limit (MAX_TASKS_IN_FLIGHT) is ${this.maxInFlight}; wait for one to finish`);
    }
    b.inFlight += 1;
    let released = false;
    return () => {
      if (!released) b.inFlight -= 1;
      released = true;
    };
  }
}

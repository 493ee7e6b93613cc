/**
 * A busy PostgreSQL pool is overload, not an outage (issue 19, case 4). pg's "timeout exceeded
 * when trying to connect" is thrown both when the database cannot be reached and when every pooled
 * connection is checked out by our own requests; only the first is ERROR_SERVICE_UNAVALIABLE.
 * Requests waiting for a connection are bounded (PG_QUEUE_MAX): one more is refused at once, and a
 * wait that times out while every connection was in use is refused the same way, with
 * ERROR_NO_SLOT_AVAILABLE, before anything is charged.
 */
import type pg from 'pg';
import { ProtocolError } from '../protocol/errors.js';
import { unavailable } from './unavailable.js';

export interface PgPoolOptions {
  /** Connections in the pool (PG_POOL_SIZE). */
  size?: number;
  /** How long a request waits for a pooled connection, ms (PG_POOL_WAIT_MS). */
  waitMs?: number;
  /** Requests waiting for a connection at most (PG_QUEUE_MAX). */
  queueMax?: number;
  /** Called once per busy answer: 'queue_full' or 'wait_timeout'. */
  onBusy?: (reason: 'queue_full' | 'wait_timeout') => void;
}

export interface PoolGate {
  /** Throws the busy answer when PG_QUEUE_MAX requests already wait for a connection. */
  admit(): void;
  /** The protocol error for a failed database call: busy when the pool was saturated by our own work. */
  classify(err: unknown): ProtocolError;
  readonly checkedOut: number;
}

export function busy(detail: string): ProtocolError {
  return new ProtocolError('ERROR_NO_SLOT_AVAILABLE', `the server is busy: ${detail}; PostgreSQL is healthy, nothing was charged, retry shortly`);
}

export function poolGate(pool: pg.Pool, opts: Required<Omit<PgPoolOptions, 'onBusy'>> & Pick<PgPoolOptions, 'onBusy'>): PoolGate {
  // Connections handed to our requests: 'acquire' and 'release' fire only for connected clients,
  // so a pool whose connects hang (database unreachable) never looks saturated.
  let checkedOut = 0;
  pool.on('acquire', () => { checkedOut += 1; });
  pool.on('release', () => { checkedOut -= 1; });
  return {
    admit() {
      if (pool.waitingCount >= opts.queueMax) {
        opts.onBusy?.('queue_full');
        throw busy(`${pool.waitingCount} requests already wait for one of ${opts.size} database connections (PG_QUEUE_MAX ${opts.queueMax})`);
      }
    },
    classify(err) {
      if (err instanceof ProtocolError) return err;
      if (err instanceof Error && /timeout exceeded when trying to connect/.test(err.message) && checkedOut >= opts.size) {
        opts.onBusy?.('wait_timeout');
        return busy(`all ${opts.size} database connections stayed in use for ${opts.waitMs} ms (PG_POOL_SIZE, PG_POOL_WAIT_MS)`);
      }
      return unavailable('database', err);
    },
    get checkedOut() { return checkedOut; },
  };
}

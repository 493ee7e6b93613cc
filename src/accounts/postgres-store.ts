/**
 * PostgreSQL account store, for several gridlens processes sharing one set of accounts
 * (DATABASE_URL=postgres://...). A debit is one statement (UPDATE ... WHERE balance >= price,
 * then the ledger row in the same statement), so concurrent nodes can never overdraw; a debit
 * whose reply is lost with the connection is settled by pg-charge.ts.
 * Unreachable database: ERROR_SERVICE_UNAVALIABLE; pg's pool reconnects by itself.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../config.js';
import { hashKey, newClientKey } from './keys.js';
import type { Account, AccountStore, AccountSummary } from './store.js';
import { poolGate, type PgPoolOptions } from './pg-backpressure.js';
import { overMaximum } from './sqlite-store.js';
import { MAX_POINTS } from '../protocol/numbers.js';
import { refundTaskId, rowToFeedback, startOfUtcDay } from './feedback.js';
import { pgCharger, type PgChargeOptions } from './pg-charge.js';

const MIGRATIONS = path.join(PROJECT_ROOT, 'migrations', 'postgres');

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(7170011)'); // one node migrates at a time
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const file of readdirSync(MIGRATIONS).filter((f) => /^\d+_.*\.sql$/.test(f)).sort()) {
      const version = Number.parseInt(file, 10);
      if (done.has(version)) continue;
      await client.query('BEGIN');
      await client.query(readFileSync(path.join(MIGRATIONS, file), 'utf8'));
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
      await client.query('COMMIT');
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(7170011)').catch(() => undefined);
    client.release();
  }
}

/** url: postgres://...; charges: where in-doubt charges are journalled (the server passes CHARGE_JOURNAL). */
export async function openPostgresStore(url: string, charges: PgChargeOptions = {}, sizing: PgPoolOptions = {}): Promise<AccountStore> {
  const size = sizing.size ?? 20;
  const waitMs = sizing.waitMs ?? 5000;
  // keepAlive and query_timeout: a connection whose peer vanished without a reset fails within
  // seconds instead of hanging a request (and an in-doubt settlement) for the TCP timeout.
  const pool = new pg.Pool({ connectionString: url, max: size, connectionTimeoutMillis: waitMs, idleTimeoutMillis: 10_000, keepAlive: true, query_timeout: 10_000 });
  const gate = poolGate(pool, { size, waitMs, queueMax: sizing.queueMax ?? 500, onBusy: sizing.onBusy });
  pool.on('error', () => { /* an idle client lost its connection; the pool replaces it */ });
  // A checked-out client whose connection drops also emits 'error'; the query's own promise
  // carries that failure, so the event must not become an uncaught exception.
  pool.on('connect', (client) => client.on('error', () => undefined));
  await migrate(pool);
  // every call: refused at once when the wait queue is full; a failure is busy or unavailable (pg-backpressure.ts)
  const db = async <T>(run: () => Promise<T>): Promise<T> => {
    gate.admit();
    try {
      return await run();
    } catch (err) {
      if (err instanceof RangeError) throw err;
      throw gate.classify(err);
    }
  };
  const charger = pgCharger(pool, { ...charges, gate });

  const inTx = async <T>(run: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const out = await run(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  };
  const creditId = async (c: pg.PoolClient, id: number, points: number, note: string) => {
    if (!Number.isSafeInteger(points) || points <= 0) throw new RangeError(`points must be a positive integer up to ${MAX_POINTS}, got ${points}`);
    const { rows } = await c.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1 FOR UPDATE', [id]);
    const now = Number(rows[0]?.balance ?? 0);
    if (now > MAX_POINTS - points) throw overMaximum(now, points);
    return c.query('WITH l AS (INSERT INTO ledger (account_id, kind, points, note) VALUES ($1, \'credit\', $2, $3)) UPDATE accounts SET balance = balance + $2 WHERE id = $1', [id, points, note]);
  };

  return {
    createAccount: (points, name = '') => db(() => inTx(async (c) => {
      const clientKey = newClientKey();
      const { rows } = await c.query<{ id: string }>('INSERT INTO accounts (key_hash, key_hint, name) VALUES ($1, $2, $3) RETURNING id', [hashKey(clientKey), clientKey.slice(0, 6), name]);
      const id = Number(rows[0]!.id);
      if (points > 0) await creditId(c, id, points, 'initial credit');
      return { clientKey, id, balance: points };
    })),
    findByKey: (key) => db(async () => {
      const { rows } = await pool.query<{ id: string; balance: string }>('SELECT id, balance FROM accounts WHERE key_hash = $1 AND revoked_at IS NULL', [hashKey(key)]);
      return rows[0] ? ({ id: Number(rows[0].id), balance: Number(rows[0].balance) } satisfies Account) : undefined;
    }),
    balance: (id) => db(async () => Number((await pool.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [id])).rows[0]?.balance ?? 0)),
    credit: (key, points, note = 'credit') => db(() => inTx(async (c) => {
      const { rows } = await c.query<{ id: string }>('SELECT id FROM accounts WHERE key_hash = $1 AND revoked_at IS NULL', [hashKey(key)]);
      if (!rows[0]) throw new Error('no live account has this key');
      await creditId(c, Number(rows[0].id), points, note);
      return Number((await c.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [rows[0].id])).rows[0]!.balance);
    })),
    charge: async (id, points, taskId) => {
      if (points === 0) return true;
      gate.admit();
      return charger.charge(id, points, taskId);
    },
    creditAccount: (id, points, note = 'credit') => db(() => inTx(async (c) => {
      const { rows } = await c.query('SELECT id FROM accounts WHERE id = $1 AND revoked_at IS NULL', [id]);
      if (!rows[0]) throw new Error('no live account has this id');
      await creditId(c, id, points, note);
      return Number((await c.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [id])).rows[0]!.balance);
    })),
    revokeAccount: (id) => db(async () => ((await pool.query('UPDATE accounts SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id])).rowCount ?? 0) === 1),
    usage: (opts = {}) => db(async () => (await pool.query(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
              COUNT(*) FILTER (WHERE kind = 'charge') AS tasks, COALESCE(-SUM(points) FILTER (WHERE kind = 'charge'), 0) AS points,
              COUNT(*) FILTER (WHERE kind = 'refund') AS refunds, COALESCE(SUM(points) FILTER (WHERE kind = 'refund'), 0) AS refunded
       FROM ledger WHERE ($1::bigint IS NULL OR account_id = $1) AND created_at >= $2::timestamptz AND kind IN ('charge', 'refund')
       GROUP BY day ORDER BY day`, [opts.accountId ?? null, opts.since ?? '1970-01-01'])).rows.map((r: Record<string, unknown>) => ({
      day: String(r.day), tasks: Number(r.tasks), points: Number(r.points), refunds: Number(r.refunds), refundedPoints: Number(r.refunded),
    }))),
    revoke: (key) => db(async () => ((await pool.query('UPDATE accounts SET revoked_at = now() WHERE key_hash = $1 AND revoked_at IS NULL', [hashKey(key)])).rowCount ?? 0) === 1),
    list: () => db(async () => (await pool.query(
      `SELECT a.id::int AS id, a.key_hint AS "keyHint", a.name, a.balance::bigint AS balance, a.created_at AS "createdAt", a.revoked_at AS "revokedAt",
              COALESCE((SELECT SUM(points) FROM ledger l WHERE l.account_id = a.id), 0) AS "ledgerSum"
       FROM accounts a ORDER BY a.id`)).rows.map((r: Record<string, unknown>) => ({
      ...r, balance: Number(r.balance), ledgerSum: Number(r.ledgerSum),
      createdAt: new Date(r.createdAt as string).toISOString(), revokedAt: r.revokedAt ? new Date(r.revokedAt as string).toISOString() : null,
    }) as AccountSummary)),
    addFeedback: (r, refund) => db(() => inTx(async (c) => {
      // the account row's lock serialises one key's refunds, so the daily cap holds across nodes
      const { rows: [acct] } = await c.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1 FOR UPDATE', [r.accountId]);
      let refunded = 0;
      if (refund && r.invalid) {
        const { rows: [n] } = await c.query<{ n: string }>("SELECT COUNT(*) AS n FROM ledger WHERE account_id = $1 AND kind = 'refund' AND task_id LIKE 'feedback:%' AND created_at >= $2", [r.accountId, startOfUtcDay()]);
        if (Number(n!.n) < refund.maxPerDay) {
          const { rows } = await c.query<{ p: string }>("SELECT -points AS p FROM ledger WHERE task_id = $1 AND kind = 'charge'", [r.taskId]);
          refunded = Number(rows[0]?.p ?? 0);
          // a refund never takes a balance past MAX_POINTS (a credit since the charge could have filled it)
          if (refunded > 0 && Number(acct?.balance ?? 0) > MAX_POINTS - refunded) refunded = 0;
        }
      }
      const ins = await c.query(
        `INSERT INTO feedback (task_id, account_id, source, kind, question, class, picture, answer, correction, invalid, code, message, refunded)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (task_id) DO NOTHING`,
        [r.taskId, r.accountId, r.source, r.kind, r.questionId, r.className, r.picture ?? null, JSON.stringify(r.answer),
          r.correction ? JSON.stringify(r.correction) : null, r.invalid, r.code, r.message, refunded]);
      if (ins.rowCount !== 1) return { stored: false, refunded: 0 };
      if (refunded > 0) {
        await c.query("WITH l AS (INSERT INTO ledger (account_id, kind, points, task_id, note) VALUES ($1, 'refund', $2, $3, 'reported wrong answer')) UPDATE accounts SET balance = balance + $2 WHERE id = $1",
          [r.accountId, refunded, refundTaskId(r.taskId)]);
      }
      return { stored: true, refunded };
    })),
    listFeedback: (opts = {}) => db(async () => (await pool.query(
      `SELECT id, task_id, account_id, source, kind, question, class, ${opts.pictures ? 'picture' : 'NULL AS picture'}, COALESCE(octet_length(picture), 0) AS picture_bytes, answer, correction, invalid, code, message, refunded, created_at
       FROM feedback ORDER BY id`)).rows.map(rowToFeedback)),
    ping: () => db(async () => { await pool.query('SELECT 1'); }),
    close: async () => {
      await charger.close();
      await pool.end();
    },
  };
}

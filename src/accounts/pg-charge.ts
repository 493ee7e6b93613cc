/**
 * Charging on PostgreSQL when the connection can drop mid-statement. If the reply to the debit is
 * lost, the debit may have committed on the server anyway (the server finishes a statement before it
 * notices the client is gone), so "the request failed" must not be reported while the points are
 * gone. Such a charge is in doubt and is settled by a 'void' ledger row under the same task_id
 * (migrations/postgres/002): the void goes in only if the charge never committed, and then it never
 * can (task_id is UNIQUE; an INSERT that meets an uncommitted row with the same key waits for it).
 *
 * A request waits up to inDoubtWaitMs for the database to come back and settle. Past that it is
 * answered ERROR_SERVICE_UNAVALIABLE and the charge is settled later, refunded if it went through;
 * those pending settlements are journalled to a local file first, so a restart does not forget them.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ProtocolError } from '../protocol/errors.js';
import { unavailable } from './unavailable.js';
import type { PoolGate } from './pg-backpressure.js';

const RETRY_MS = 100;
const LATE_SETTLE_MS = 1_000;

const CHARGE = `WITH d AS (UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2 RETURNING id)
  INSERT INTO ledger (account_id, kind, points, task_id) SELECT id, 'charge', -$2::bigint, $3 FROM d`;
const VOID = `INSERT INTO ledger (account_id, kind, points, task_id, note)
  VALUES ($1, 'void', 0, $2, 'charge in doubt (database connection lost); voided') ON CONFLICT (task_id) DO NOTHING`;
const REFUND = `WITH r AS (
    INSERT INTO ledger (account_id, kind, points, task_id, note)
    VALUES ($1, 'refund', $2, 'refund:' || $3, 'task reported as failed while its charge was in doubt')
    ON CONFLICT (task_id) DO NOTHING RETURNING account_id, points)
  UPDATE accounts SET balance = balance + r.points FROM r WHERE accounts.id = r.account_id`;

interface InDoubt { accountId: number; points: number; taskId: string }

export interface PgChargeOptions {
  /** How long a request waits for an in-doubt charge to be settled (default 5 s). */
  inDoubtWaitMs?: number;
  /** JSON-lines file of settlements still owed; one file per process. Without it they live in memory only. */
  journal?: string;
  /** Tells a saturated pool (busy) from an unreachable database when no connection comes. */
  gate?: Pick<PoolGate, 'classify'>;
}

export interface PgCharger {
  /** Debit points for taskId; false when the balance does not cover it. */
  charge(accountId: number, points: number, taskId: string): Promise<boolean>;
  /** One last settling pass and stop; what is still unsettled stays in the journal for the next start. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readJournal(file: string | undefined): InDoubt[] {
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as InDoubt);
}

export function pgCharger(pool: pg.Pool, opts: PgChargeOptions = {}): PgCharger {
  const waitMs = opts.inDoubtWaitMs ?? 5_000;
  const late = new Map<string, InDoubt>(readJournal(opts.journal).map((t) => [t.taskId, t]));
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> | undefined;
  let closed = false;

  const rewriteJournal = () => {
    if (!opts.journal) return;
    const tmp = `${opts.journal}.tmp`;
    writeFileSync(tmp, [...late.values()].map((t) => `${JSON.stringify(t)}\n`).join(''));
    renameSync(tmp, opts.journal);
  };

  /**
   * True: the charge committed. False: it did not, and now cannot. Throws while the database is
   * unreachable. The row is read back in a second statement (a fresh snapshot) because the void may
   * have met a charge committed after this statement began, or a void of our own whose reply was lost.
   */
  const settle = async (t: InDoubt): Promise<boolean> => {
    if ((await pool.query(VOID, [t.accountId, t.taskId])).rowCount === 1) return false;
    const { rows } = await pool.query<{ kind: string }>('SELECT kind FROM ledger WHERE task_id = $1', [t.taskId]);
    return rows[0]?.kind === 'charge';
  };

  const settleLate = async () => {
    let changed = false;
    for (const t of [...late.values()]) {
      try {
        if (await settle(t)) await pool.query(REFUND, [t.accountId, t.points, t.taskId]);
        late.delete(t.taskId);
        changed = true;
      } catch { /* still unreachable: next round */ }
    }
    if (changed) rewriteJournal();
  };

  const schedule = () => {
    if (closed || timer || late.size === 0) return;
    timer = setTimeout(() => {
      pass = settleLate().finally(() => {
        timer = undefined;
        pass = undefined;
        schedule();
      });
    }, LATE_SETTLE_MS);
    timer.unref();
  };

  const inDoubt = async (t: InDoubt, cause: unknown): Promise<boolean> => {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      try {
        if (await settle(t)) return true; // committed: the task succeeded after all
        throw unavailable('database', cause);
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        await sleep(RETRY_MS);
      }
    }
    late.set(t.taskId, t);
    if (opts.journal) {
      mkdirSync(path.dirname(opts.journal), { recursive: true });
      appendFileSync(opts.journal, `${JSON.stringify(t)}\n`);
    }
    schedule();
    const reason = cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 120) : String(cause);
    throw new ProtocolError('ERROR_SERVICE_UNAVALIABLE', `the database became unreachable while this task was being charged (${reason}); if the charge went through it will be refunded automatically, retry shortly`);
  };

  schedule(); // settlements a previous run left in the journal

  return {
    async charge(accountId, points, taskId) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect(); // a failure here sent nothing: nothing to settle
      } catch (err) {
        throw opts.gate ? opts.gate.classify(err) : unavailable('database', err);
      }
      try {
        const { rowCount } = await client.query(CHARGE, [accountId, points, taskId]);
        client.release();
        return rowCount === 1;
      } catch (err) {
        client.release(err as Error);
        // An error the server sent (short of a fatal one that ends the session) means the statement
        // was rolled back; anything else may have lost the reply of a committed statement.
        const severity = (err as { severity?: string }).severity;
        if (err instanceof pg.DatabaseError && severity !== 'FATAL' && severity !== 'PANIC') throw unavailable('database', err);
        return inDoubt({ accountId, points, taskId }, err);
      }
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await pass;
      if (late.size) await settleLate();
    },
  };
}

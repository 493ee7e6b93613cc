/**
 * Charging on PostgreSQL when the connection can drop mid-statement. If the reply to the debit is
 * lost, the debit may have committed on the server anyway (the server finishes a statement before it
 * notices the client is gone), so "the request failed" must not be reported while the points are
 * gone. Such a charge is in doubt and is settled by a 'void' ledger row under the same task_id
 * (migrations/postgres/002): the void goes in only if the charge never committed, and then it never
 * can (task_id is UNIQUE; an INSERT that meets an uncommitted row with the same key waits for it).
 * A request waits up to IN_DOUBT_WAIT_MS for the database to come back and settle; a charge settled
 * later than that was reported as failed, so it is refunded.
 */
import pg from 'pg';
import { ProtocolError } from '../protocol/errors.js';
import { unavailable } from './unavailable.js';

const IN_DOUBT_WAIT_MS = 5_000;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PgCharger {
  /** Debit points for taskId; false when the balance does not cover it. */
  charge(accountId: number, points: number, taskId: string): Promise<boolean>;
  /** Charges still in doubt after their request gave up (settled in the background). */
  pending(): number;
  /** One last settling pass, then stop the background timer. */
  close(): Promise<void>;
}

export function pgCharger(pool: pg.Pool): PgCharger {
  const late = new Map<string, InDoubt>();
  let timer: NodeJS.Timeout | undefined;

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
    for (const t of [...late.values()]) {
      try {
        if (await settle(t)) await pool.query(REFUND, [t.accountId, t.points, t.taskId]);
        late.delete(t.taskId);
      } catch { /* still unreachable: next round */ }
    }
    timer = late.size ? setTimeout(() => void settleLate(), LATE_SETTLE_MS) : undefined;
  };

  const inDoubt = async (t: InDoubt, cause: unknown): Promise<boolean> => {
    const deadline = Date.now() + IN_DOUBT_WAIT_MS;
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
    timer ??= setTimeout(() => void settleLate(), LATE_SETTLE_MS);
    throw unavailable('database', cause);
  };

  return {
    async charge(accountId, points, taskId) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect(); // a failure here sent nothing: nothing to settle
      } catch (err) {
        throw unavailable('database', err);
      }
      try {
        const { rowCount } = await client.query(CHARGE, [accountId, points, taskId]);
        client.release();
        return rowCount === 1;
      } catch (err) {
        client.release(err as Error);
        // An error the server sent means the statement was rolled back; anything else lost the reply.
        if (err instanceof pg.DatabaseError) throw unavailable('database', err);
        return inDoubt({ accountId, points, taskId }, err);
      }
    },
    pending: () => late.size,
    async close() {
      clearTimeout(timer);
      if (late.size) await settleLate();
      clearTimeout(timer);
    },
  };
}

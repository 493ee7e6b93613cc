/**
 * Results in the SQLite file (issue 19, case 9): without Redis, a result charged just before a
 * crash must still be readable after the restart, for the TTL the protocol promises. Its own
 * connection to the accounts file (WAL lets both write); synchronous=NORMAL survives a killed
 * process, which is the failure this guards against. Expired rows are swept every SWEEP_EVERY puts.
 */
import Database from 'better-sqlite3';
import { migrate } from '../accounts/sqlite-store.js';
import type { Solution } from '../solver/select-cells.js';
import type { TaskResults } from './result-store.js';

const SWEEP_EVERY = 256;

export class SqliteResults implements TaskResults {
  private readonly db: Database.Database;
  private readonly q;
  private puts = 0;

  constructor(file: string, private readonly ttlMs: number, private readonly maxEntries: number, private readonly now: () => number = () => Date.now()) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.q = {
      put: this.db.prepare('INSERT OR REPLACE INTO results (task_id, account_id, solution, expires_at) VALUES (?, ?, ?, ?)'),
      get: this.db.prepare('SELECT account_id AS accountId, solution, expires_at AS expiresAt FROM results WHERE task_id = ?'),
      delete: this.db.prepare('DELETE FROM results WHERE task_id = ?'),
      sweep: this.db.prepare('DELETE FROM results WHERE expires_at <= ?'),
      count: this.db.prepare('SELECT COUNT(*) FROM results').pluck(),
      trim: this.db.prepare('DELETE FROM results WHERE task_id IN (SELECT task_id FROM results ORDER BY expires_at LIMIT ?)'),
    };
  }

  async put(taskId: string, accountId: number, solution: Solution): Promise<void> {
    this.q.put.run(taskId, accountId, JSON.stringify(solution), this.now() + this.ttlMs);
    if (++this.puts % SWEEP_EVERY === 0) this.sweep();
  }

  async get(taskId: string, accountId: number): Promise<Solution | undefined> {
    const row = this.q.get.get(taskId) as { accountId: number; solution: string; expiresAt: number } | undefined;
    if (!row || row.expiresAt <= this.now() || row.accountId !== accountId) return undefined;
    return JSON.parse(row.solution) as Solution;
  }

  async delete(taskId: string): Promise<void> {
    this.q.delete.run(taskId);
  }

  async ping(): Promise<void> {}

  /** Drop expired rows, then the oldest beyond maxEntries. */
  sweep(): void {
    this.q.sweep.run(this.now());
    const over = (this.q.count.get() as number) - this.maxEntries;
    if (over > 0) this.q.trim.run(over);
  }

  get size(): number {
    return this.q.count.get() as number;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

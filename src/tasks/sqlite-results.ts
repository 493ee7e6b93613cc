/**
 * Results in the SQLite file (issue 19, case 9): without Redis, a result charged just before a
 * crash must still be readable after the restart, for the TTL the protocol promises. Its own
 * connection to the accounts file (WAL lets both write); synchronous=NORMAL survives a killed
 * process, which is the failure this guards against. Expired rows are swept every SWEEP_EVERY puts.
 * Beside each result the task's picture, kind, question and class are kept (migration 004), so a
 * report (feedbackTask) can store them as a label; pictures have their own byte budget
 * (MAX_STORED_PICTURE_BYTES), and the oldest pictures are dropped first (the results stay).
 */
import Database from 'better-sqlite3';
import { migrate } from '../accounts/sqlite-store.js';
import type { GridKind } from '../imaging/grid.js';
import type { Solution } from '../solver/select-cells.js';
import type { StoredTask, TaskContext, TaskResults } from './result-store.js';

const SWEEP_EVERY = 256;

interface Row {
  accountId: number;
  solution: string;
  expiresAt: number;
  kind: GridKind | null;
  question: string | null;
  class: string | null;
  picture: Buffer | null;
}

export class SqliteResults implements TaskResults {
  private readonly db: Database.Database;
  private readonly q;
  private puts = 0;
  /** Bytes of pictures held, as last counted plus those put since (an over-estimate after deletes). */
  private pictureBytes: number;

  constructor(
    file: string,
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => Date.now(),
    private readonly maxPictureBytes = 256 * 1024 * 1024,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.q = {
      put: this.db.prepare(`INSERT OR REPLACE INTO results (task_id, account_id, solution, expires_at, kind, question, class, picture)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      get: this.db.prepare('SELECT account_id AS accountId, solution, expires_at AS expiresAt, kind, question, class, picture FROM results WHERE task_id = ?'),
      delete: this.db.prepare('DELETE FROM results WHERE task_id = ?'),
      sweep: this.db.prepare('DELETE FROM results WHERE expires_at <= ?'),
      count: this.db.prepare('SELECT COUNT(*) FROM results').pluck(),
      trim: this.db.prepare('DELETE FROM results WHERE task_id IN (SELECT task_id FROM results ORDER BY expires_at LIMIT ?)'),
      pictureBytes: this.db.prepare('SELECT COALESCE(SUM(length(picture)), 0) FROM results').pluck(),
      // the newest pictures up to the budget stay; older ones are dropped, their results kept
      trimPictures: this.db.prepare(`UPDATE results SET picture = NULL WHERE task_id IN (
                                       SELECT task_id FROM (SELECT task_id, SUM(length(picture)) OVER (ORDER BY expires_at DESC, task_id DESC) AS kept
                                                            FROM results WHERE picture IS NOT NULL)
                                       WHERE kept > ?)`),
    };
    this.pictureBytes = this.q.pictureBytes.get() as number;
  }

  async put(taskId: string, accountId: number, solution: Solution, context?: TaskContext): Promise<void> {
    const picture = context?.picture && context.picture.length > 0 ? context.picture : null;
    this.q.put.run(taskId, accountId, JSON.stringify(solution), this.now() + this.ttlMs,
      context?.kind ?? null, context?.questionId ?? null, context?.className ?? null, picture);
    this.pictureBytes += picture?.length ?? 0;
    if (++this.puts % SWEEP_EVERY === 0) this.sweep();
    else if (this.pictureBytes > this.maxPictureBytes) this.trimPictures();
  }

  async get(taskId: string, accountId: number): Promise<Solution | undefined> {
    return (await this.task(taskId, accountId))?.solution;
  }

  async task(taskId: string, accountId: number): Promise<StoredTask | undefined> {
    const row = this.q.get.get(taskId) as Row | undefined;
    if (!row || row.expiresAt <= this.now() || row.accountId !== accountId) return undefined;
    const solution = JSON.parse(row.solution) as Solution;
    if (row.kind === null || row.question === null || row.class === null) return { solution };
    return { solution, context: { kind: row.kind, questionId: row.question, className: row.class, picture: row.picture ?? undefined } };
  }

  async delete(taskId: string): Promise<void> {
    this.q.delete.run(taskId);
  }

  async ping(): Promise<void> {}

  /** Drop expired rows, then the oldest beyond maxEntries, then the oldest pictures beyond the byte budget. */
  sweep(): void {
    this.q.sweep.run(this.now());
    const over = (this.q.count.get() as number) - this.maxEntries;
    if (over > 0) this.q.trim.run(over);
    this.pictureBytes = this.q.pictureBytes.get() as number;
    if (this.pictureBytes > this.maxPictureBytes) this.trimPictures();
  }

  private trimPictures(): void {
    this.q.trimPictures.run(this.maxPictureBytes);
    this.pictureBytes = this.q.pictureBytes.get() as number;
  }

  get size(): number {
    return this.q.count.get() as number;
  }

  /** Bytes of pictures held. */
  get heldPictureBytes(): number {
    return this.q.pictureBytes.get() as number;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

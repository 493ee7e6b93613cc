/**
 * SQLite account store (better-sqlite3). Created and migrated on first open from the numbered
 * files in migrations/sqlite. better-sqlite3 is synchronous: each call is one short transaction
 * on the event loop (tens of microseconds), which is what makes a conditional debit atomic.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../config.js';
import { hashKey, newClientKey } from './keys.js';
import type { Account, AccountStore, AccountSummary, UsageDay } from './store.js';
import { refundTaskId, rowToFeedback, startOfUtcDay, type FeedbackReport, type RefundPolicy } from './feedback.js';
import { MAX_POINTS } from '../protocol/numbers.js';

const MIGRATIONS = path.join(PROJECT_ROOT, 'migrations', 'sqlite');

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  const done = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  for (const file of readdirSync(MIGRATIONS).filter((f) => /^\d+_.*\.sql$/.test(f)).sort()) {
    const version = Number.parseInt(file, 10);
    if (done.has(version)) continue;
    db.transaction(() => {
      db.exec(readFileSync(path.join(MIGRATIONS, file), 'utf8'));
      db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(version, file);
    })();
  }
}

function positivePoints(points: number): void {
  if (!Number.isSafeInteger(points) || points <= 0) throw new RangeError(`points must be a positive integer up to ${MAX_POINTS}, got ${points}`);
}

/** A balance past MAX_POINTS would come back from SQLite as an inexact double: refused instead. */
export function overMaximum(balance: number, points: number): RangeError {
  return new RangeError(`a credit of ${points} points would take the balance from ${balance} past ${MAX_POINTS} (Number.MAX_SAFE_INTEGER), the largest exact balance; refused`);
}

export function openSqliteStore(file: string): AccountStore {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);

  const q = {
    insertAccount: db.prepare('INSERT INTO accounts (key_hash, key_hint, name) VALUES (?, ?, ?)'),
    byHash: db.prepare('SELECT id, balance FROM accounts WHERE key_hash = ? AND revoked_at IS NULL'),
    balance: db.prepare('SELECT balance FROM accounts WHERE id = ?').pluck(),
    addLedger: db.prepare('INSERT INTO ledger (account_id, kind, points, task_id, note) VALUES (?, ?, ?, ?, ?)'),
    credit: db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?'),
    debit: db.prepare('UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ?'),
    revoke: db.prepare("UPDATE accounts SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE key_hash = ? AND revoked_at IS NULL"),
    list: db.prepare(`SELECT a.id, a.key_hint AS keyHint, a.name, a.balance, a.created_at AS createdAt, a.revoked_at AS revokedAt,
                      COALESCE((SELECT SUM(points) FROM ledger l WHERE l.account_id = a.id), 0) AS ledgerSum
                      FROM accounts a ORDER BY a.id`),
    addFeedback: db.prepare(`INSERT INTO feedback (task_id, account_id, source, kind, question, class, picture, answer, correction, invalid, code, message, refunded)
                             VALUES (@taskId, @accountId, @source, @kind, @questionId, @className, @picture, @answer, @correction, @invalid, @code, @message, @refunded)
                             ON CONFLICT (task_id) DO NOTHING`),
    chargeOf: db.prepare("SELECT -points FROM ledger WHERE task_id = ? AND kind = 'charge'").pluck(),
    refundsSince: db.prepare("SELECT COUNT(*) FROM ledger WHERE account_id = ? AND kind = 'refund' AND task_id LIKE 'feedback:%' AND created_at >= ?").pluck(),
    usage: db.prepare(`SELECT substr(created_at, 1, 10) AS day,
                       SUM(kind = 'charge') AS tasks, COALESCE(-SUM(CASE WHEN kind = 'charge' THEN points END), 0) AS points,
                       SUM(kind = 'refund') AS refunds, COALESCE(SUM(CASE WHEN kind = 'refund' THEN points END), 0) AS refundedPoints
                       FROM ledger WHERE (@accountId IS NULL OR account_id = @accountId) AND created_at >= @since AND kind IN ('charge', 'refund')
                       GROUP BY day ORDER BY day`),
    revokeId: db.prepare("UPDATE accounts SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ? AND revoked_at IS NULL"),
    liveId: db.prepare('SELECT id FROM accounts WHERE id = ? AND revoked_at IS NULL').pluck(),
    listFeedback: db.prepare('SELECT *, COALESCE(length(picture), 0) AS picture_bytes FROM feedback ORDER BY id'),
    listFeedbackNoPictures: db.prepare('SELECT id, task_id, account_id, source, kind, question, class, NULL AS picture, COALESCE(length(picture), 0) AS picture_bytes, answer, correction, invalid, code, message, refunded, created_at FROM feedback ORDER BY id'),
  };

  const feedbackTx = db.transaction((r: FeedbackReport, refund: RefundPolicy | undefined) => {
    let refunded = 0;
    if (refund && r.invalid && (q.refundsSince.get(r.accountId, startOfUtcDay()) as number) < refund.maxPerDay) {
      refunded = (q.chargeOf.get(r.taskId) as number | undefined) ?? 0;
      // A refund never takes a balance past MAX_POINTS (a credit since the charge could have filled it).
      if (refunded > 0 && ((q.balance.get(r.accountId) as number | undefined) ?? 0) > MAX_POINTS - refunded) refunded = 0;
    }
    const row = {
      ...r, picture: r.picture ?? null, answer: JSON.stringify(r.answer), correction: r.correction ? JSON.stringify(r.correction) : null,
      invalid: r.invalid ? 1 : 0, refunded,
    };
    if (q.addFeedback.run(row).changes !== 1) return { stored: false, refunded: 0 };
    if (refunded > 0) {
      q.addLedger.run(r.accountId, 'refund', refunded, refundTaskId(r.taskId), 'reported wrong answer');
      q.credit.run(refunded, r.accountId);
    }
    return { stored: true, refunded };
  });

  const creditTx = db.transaction((id: number, points: number, note: string) => {
    const now = (q.balance.get(id) as number | undefined) ?? 0;
    if (now > MAX_POINTS - points) throw overMaximum(now, points);
    q.addLedger.run(id, 'credit', points, null, note);
    q.credit.run(points, id);
  });
  const chargeTx = db.transaction((id: number, points: number, taskId: string): boolean => {
    if (points === 0) return true;
    if (q.debit.run(points, id, points).changes !== 1) return false;
    q.addLedger.run(id, 'charge', -points, taskId, '');
    return true;
  });
  const createTx = db.transaction((points: number, name: string) => {
    const clientKey = newClientKey();
    const id = Number(q.insertAccount.run(hashKey(clientKey), clientKey.slice(0, 6), name).lastInsertRowid);
    if (points > 0) creditTx(id, points, 'initial credit');
    return { clientKey, id, balance: points };
  });

  const find = (key: string): Account | undefined => q.byHash.get(hashKey(key)) as Account | undefined;

  return {
    async createAccount(points, name = '') {
      if (points !== 0) positivePoints(points);
      return createTx(points, name);
    },
    async findByKey(key) {
      return find(key);
    },
    async balance(id) {
      return q.balance.get(id) as number;
    },
    async credit(key, points, note = 'credit') {
      positivePoints(points);
      const acc = find(key);
      if (!acc) throw new Error('no live account has this key');
      creditTx(acc.id, points, note);
      return q.balance.get(acc.id) as number;
    },
    async charge(id, points, taskId) {
      return chargeTx(id, points, taskId);
    },
    async creditAccount(id, points, note = 'credit') {
      positivePoints(points);
      if (q.liveId.get(id) === undefined) throw new Error('no live account has this id');
      creditTx(id, points, note);
      return q.balance.get(id) as number;
    },
    async revokeAccount(id) {
      return q.revokeId.run(id).changes === 1;
    },
    async usage(opts = {}) {
      return q.usage.all({ accountId: opts.accountId ?? null, since: opts.since ?? '' }) as UsageDay[];
    },
    async revoke(key) {
      return q.revoke.run(hashKey(key)).changes === 1;
    },
    async list() {
      return q.list.all() as AccountSummary[];
    },
    async addFeedback(report, refund) {
      return feedbackTx(report, refund);
    },
    async listFeedback(opts = {}) {
      return ((opts.pictures ? q.listFeedback : q.listFeedbackNoPictures).all() as Record<string, unknown>[]).map(rowToFeedback);
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      db.close();
    },
  };
}

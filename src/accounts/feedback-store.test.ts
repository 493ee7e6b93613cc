/** Reports kept durably, the same in SQLite and PostgreSQL (migrations/*\/003_feedback.sql). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openPostgresStore } from './postgres-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { AccountStore } from './store.js';
import type { FeedbackReport } from './feedback.js';
import { createTestDatabase, dropTestDatabase, postgresUnreachable } from '../testing/postgres.js';

const report = (taskId: string, accountId: number, extra: Partial<FeedbackReport> = {}): FeedbackReport => ({
  taskId, accountId, source: 'feedbackTask', kind: '3x3', questionId: '/m/0k4j', className: 'car', picture: Buffer.from([1, 2, 3, 255]),
  answer: { type: 'multi', objects: [0, 1, 2] }, correction: { objects: [0, 1] }, invalid: true, code: '', message: '', ...extra,
});

async function keepsReports(store: AccountStore): Promise<void> {
  const { id } = await store.createAccount(100);
  for (const t of ['t1', 't2', 't3', 't4']) assert.equal(await store.charge(id, 6, t), true);
  assert.deepEqual(await store.addFeedback(report('t1', id), { maxPerDay: 2 }), { stored: true, refunded: 6 });
  assert.deepEqual(await store.addFeedback(report('t1', id), { maxPerDay: 2 }), { stored: false, refunded: 0 }, 'once per task');
  assert.deepEqual(await store.addFeedback(report('t2', id, { invalid: false }), { maxPerDay: 2 }), { stored: true, refunded: 0 }, 'a passed answer is not refunded');
  assert.deepEqual(await store.addFeedback(report('t3', id, { picture: undefined, correction: undefined }), { maxPerDay: 2 }), { stored: true, refunded: 6 });
  assert.deepEqual(await store.addFeedback(report('t4', id), { maxPerDay: 2 }), { stored: true, refunded: 0 }, 'the day\'s cap');
  assert.equal(await store.balance(id), 88);
  assert.equal((await store.list())[0]!.ledgerSum, 88);
  const rows = await store.listFeedback({ pictures: true });
  assert.deepEqual(rows.map((r) => [r.taskId, r.refunded, r.invalid]), [['t1', 6, true], ['t2', 0, false], ['t3', 6, true], ['t4', 0, true]]);
  assert.deepEqual([...rows[0]!.picture!], [1, 2, 3, 255]);
  assert.deepEqual(rows[0]!.answer, { type: 'multi', objects: [0, 1, 2] });
  assert.deepEqual(rows[0]!.correction, { objects: [0, 1] });
  assert.equal(rows[2]!.picture, undefined);
  assert.equal(rows[2]!.correction, undefined);
  assert.match(rows[0]!.createdAt, /^\d{4}-\d\d-\d\dT/);
}

const pgSkip = await postgresUnreachable();

describe('feedback in the account store', () => {
  it('SQLite', async () => {
    const store = openSqliteStore(':memory:');
    try {
      await keepsReports(store);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL', { skip: pgSkip }, async () => {
    const name = await createTestDatabase('gridlens_feedback');
    const store = await openPostgresStore(`postgres://postgres@127.0.0.1:5432/${name}`);
    try {
      await keepsReports(store);
    } finally {
      await store.close();
      await dropTestDatabase(name);
    }
  });
});

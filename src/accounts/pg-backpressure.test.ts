/**
 * Issue 19, case 4: a saturated PostgreSQL pool answers ERROR_NO_SLOT_AVAILABLE (busy, nothing
 * charged, counted), never ERROR_SERVICE_UNAVALIABLE; the wait queue is bounded; an unreachable
 * database still says unavailable.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from './postgres-store.js';
import { poolGate } from './pg-backpressure.js';
import type { AccountStore } from './store.js';
import { ProtocolError } from '../protocol/errors.js';
import { createTestDatabase, dropTestDatabase, postgresUnreachable } from '../testing/postgres.js';

const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof ProtocolError ? e.errorCode : `${(e as Error).name}: ${(e as Error).message}`));

describe('saturated pool', { skip: await postgresUnreachable() }, () => {
  let dbName: string;
  let store: AccountStore;
  let direct: pg.Client;
  const busy: string[] = [];

  before(async () => {
    dbName = await createTestDatabase('gridlens_busy');
    store = await openPostgresStore(`postgres://postgres@127.0.0.1:5432/${dbName}`, {}, { size: 2, waitMs: 400, queueMax: 3, onBusy: (r) => busy.push(r) });
    direct = new pg.Client(`postgres://postgres@127.0.0.1:5432/${dbName}`);
    await direct.connect();
  });
  after(async () => {
    await direct?.end();
    await store?.close();
    if (dbName) await dropTestDatabase(dbName);
  });

  it('both connections held: three wait, one more is refused at once, the waits run out as busy; nothing charged', async () => {
    const { clientKey, id } = await store.createAccount(100);
    await direct.query('BEGIN');
    await direct.query('LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE'); // every store call now holds its connection
    const holders = [store.credit(clientKey, 1), store.credit(clientKey, 1)];
    await new Promise((r) => setTimeout(r, 100));
    const waiting = [store.balance(id), store.findByKey(clientKey), store.charge(id, 5, 'busy-task')].map(codeOf);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await codeOf(store.balance(id)), 'ERROR_NO_SLOT_AVAILABLE', 'the fourth waiter is refused at once');
    assert.deepEqual(await Promise.all(waiting), ['ERROR_NO_SLOT_AVAILABLE', 'ERROR_NO_SLOT_AVAILABLE', 'ERROR_NO_SLOT_AVAILABLE'], 'a busy pool is not an outage');
    await direct.query('COMMIT');
    await Promise.all(holders);
    assert.equal(await store.balance(id), 102, 'the two credits went through, the busy charge did not');
    assert.equal((await direct.query("SELECT count(*)::int AS n FROM ledger WHERE task_id = 'busy-task'")).rows[0].n, 0);
    assert.deepEqual(busy.sort(), ['queue_full', 'wait_timeout', 'wait_timeout', 'wait_timeout']);
  });

  it('balances stay below Number.MAX_SAFE_INTEGER on PostgreSQL too', async () => {
    const { clientKey, id } = await store.createAccount(Number.MAX_SAFE_INTEGER - 1);
    await assert.rejects(store.credit(clientKey, 2), /past 9007199254740991/);
    assert.equal(await store.balance(id), Number.MAX_SAFE_INTEGER - 1);
  });
});

it('classify: a connect timeout while our own requests hold every connection is busy; otherwise unavailable', () => {
  const pool = Object.assign(new EventEmitter(), { waitingCount: 0 }) as unknown as pg.Pool;
  const gate = poolGate(pool, { size: 2, waitMs: 100, queueMax: 1 });
  const timeout = new Error('timeout exceeded when trying to connect');
  assert.equal(gate.classify(timeout).errorCode, 'ERROR_SERVICE_UNAVALIABLE', 'no connection handed out: the database is not answering');
  pool.emit('acquire');
  pool.emit('acquire');
  assert.equal(gate.classify(timeout).errorCode, 'ERROR_NO_SLOT_AVAILABLE');
  assert.equal(gate.classify(new Error('connect ECONNREFUSED 127.0.0.1:5432')).errorCode, 'ERROR_SERVICE_UNAVALIABLE');
  pool.emit('release');
  assert.equal(gate.classify(timeout).errorCode, 'ERROR_SERVICE_UNAVALIABLE');
  (pool as unknown as { waitingCount: number }).waitingCount = 1;
  assert.throws(() => gate.admit(), /PG_QUEUE_MAX 1/);
});

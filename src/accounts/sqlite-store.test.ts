import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStore } from './sqlite-store.js';

it('stores only a hash of the key; credits and charges are ledger rows that sum to the balance', async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'gl-')), 'a.sqlite');
  const store = openSqliteStore(file);
  const { clientKey, id } = await store.createAccount(100);
  assert.match(clientKey, /^[0-9a-f]{32}$/);
  assert.equal(await store.credit(clientKey, 20), 120);
  assert.equal(await store.charge(id, 6, 't1'), true);
  assert.equal(await store.charge(id, 6, 't1').catch(() => 'dup'), 'dup', 'a task id is charged at most once');
  assert.equal(await store.balance(id), 114);
  const [row] = await store.list();
  assert.equal(row!.ledgerSum, 114);
  await store.close();
  const db = new Database(file);
  const dump = JSON.stringify(db.prepare('SELECT * FROM accounts').all());
  assert.ok(!dump.includes(clientKey), 'the key itself is never stored');
  assert.throws(() => db.prepare('DELETE FROM ledger').run(), /append-only/);
  assert.throws(() => db.prepare('UPDATE ledger SET points = 1').run(), /append-only/);
  db.close();
});

it('never goes negative: concurrent charges beyond the balance fail', async () => {
  const store = openSqliteStore(':memory:');
  const { id } = await store.createAccount(6 * 50);
  const results = await Promise.all(Array.from({ length: 80 }, (_, i) => store.charge(id, 6, `t${i}`)));
  assert.equal(results.filter(Boolean).length, 50);
  assert.equal(await store.balance(id), 0);
  assert.equal((await store.list())[0]!.ledgerSum, 0);
});

it('migrates once: reopening keeps the data', async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'gl-')), 'b.sqlite');
  const a = openSqliteStore(file);
  const { clientKey } = await a.createAccount(7);
  await a.close();
  const b = openSqliteStore(file);
  assert.equal((await b.findByKey(clientKey))?.balance, 7);
  assert.equal(await b.revoke(clientKey), true);
  assert.equal(await b.findByKey(clientKey), undefined);
  await b.close();
});

it('balances stay exact: a credit past Number.MAX_SAFE_INTEGER is refused, the balance unchanged (issue 19)', async () => {
  const store = openSqliteStore(':memory:');
  const { clientKey, id } = await store.createAccount(Number.MAX_SAFE_INTEGER - 5);
  await assert.rejects(store.credit(clientKey, 6), /past 9007199254740991/);
  assert.equal(await store.balance(id), Number.MAX_SAFE_INTEGER - 5);
  assert.equal(await store.credit(clientKey, 5), Number.MAX_SAFE_INTEGER);
  await assert.rejects(store.createAccount(Number.MAX_SAFE_INTEGER + 2), RangeError);
  assert.equal((await store.list())[0]!.ledgerSum, Number.MAX_SAFE_INTEGER);
  await store.close();
});

/** A charge whose request or reply is lost on the wire: settled, never charged without success. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from './postgres-store.js';
import type { AccountStore } from './store.js';
import { ProtocolError } from '../protocol/errors.js';
import { createTestDatabase, dropTestDatabase, postgresUnreachable } from '../testing/postgres.js';
import { TcpProxy } from '../testing/tcp-proxy.js';

describe('PostgreSQL charge in doubt', { skip: await postgresUnreachable() }, () => {
  let dbName: string;
  const proxy = new TcpProxy(5432);
  let store: AccountStore;
  let direct: pg.Client;

  before(async () => {
    dbName = await createTestDatabase('gridlens_charge');
    await proxy.start();
    store = await openPostgresStore(`postgres://postgres@127.0.0.1:${proxy.port}/${dbName}`);
    direct = new pg.Client(`postgres://postgres@127.0.0.1:5432/${dbName}`);
    await direct.connect();
  });

  after(async () => {
    await direct?.end();
    await store?.close();
    await proxy.cut();
    if (dbName) await dropTestDatabase(dbName);
  });

  const ledgerKinds = async (taskId: string) =>
    (await direct.query<{ kind: string }>('SELECT kind FROM ledger WHERE task_id = $1', [taskId])).rows.map((r) => r.kind);

  it('the reply is lost after the debit committed: the charge stands and is reported as made', async () => {
    const { id } = await store.createAccount(100);
    await store.balance(id); // warm a pooled connection so the loss hits the charge itself
    proxy.loseNext('reply');
    assert.equal(await store.charge(id, 6, 'task-reply-lost'), true);
    assert.equal(await store.balance(id), 94);
    assert.deepEqual(await ledgerKinds('task-reply-lost'), ['charge']);
  });

  it('the request is lost before it reached the server: voided, reported unavailable, nothing charged', async () => {
    const { id } = await store.createAccount(100);
    await store.balance(id);
    proxy.loseNext('request');
    await assert.rejects(store.charge(id, 6, 'task-request-lost'), (err: unknown) => err instanceof ProtocolError && err.errorCode === 'ERROR_SERVICE_UNAVALIABLE');
    assert.equal(await store.balance(id), 100);
    assert.deepEqual(await ledgerKinds('task-request-lost'), ['void']);
    // A voided task can never be charged afterwards, even by a late retry of the same statement.
    await assert.rejects(store.charge(id, 6, 'task-request-lost'));
    assert.equal(await store.balance(id), 100);
  });

  it('the database stays down past the wait: reported unavailable, journalled, refunded once it is back, even after a restart', async () => {
    const journal = path.join(mkdtempSync(path.join(os.tmpdir(), 'gridlens-journal-')), 'in-doubt.jsonl');
    const url = `postgres://postgres@127.0.0.1:${proxy.port}/${dbName}`;
    const first = await openPostgresStore(url, { journal, inDoubtWaitMs: 300 });
    const { id } = await first.createAccount(100);
    await first.balance(id);
    proxy.loseNext('reply', { thenCut: true });
    await assert.rejects(first.charge(id, 6, 'task-late'), (err: unknown) => err instanceof ProtocolError && err.errorCode === 'ERROR_SERVICE_UNAVALIABLE' && /refunded/.test(err.message));
    const balanceNow = async () => Number((await direct.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [id])).rows[0]!.balance);
    assert.equal(await balanceNow(), 94, 'the debit went through on the server');
    assert.match(readFileSync(journal, 'utf8'), /"taskId":"task-late"/);
    await first.close(); // still down: the settlement stays owed, in the journal

    await proxy.start();
    const second = await openPostgresStore(url, { journal, inDoubtWaitMs: 300 });
    try {
      for (let i = 0; i < 50 && (await balanceNow()) !== 100; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await balanceNow(), 100, 'refunded after the restart');
      assert.deepEqual((await direct.query<{ kind: string }>("SELECT kind FROM ledger WHERE task_id IN ('task-late', 'refund:task-late') ORDER BY id")).rows.map((r) => r.kind), ['charge', 'refund']);
      assert.equal(readFileSync(journal, 'utf8'), '', 'nothing left to settle');
    } finally {
      await second.close();
    }
    assert.ok(existsSync(journal));
  });

  it('balance and ledger agree after all of them', async () => {
    const rows = await store.list();
    for (const r of rows) assert.equal(r.balance, r.ledgerSum, `account ${r.id}`);
  });
});

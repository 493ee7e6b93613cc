/**
 * Issue 5's proof against real servers: two gridlens processes sharing PostgreSQL and Redis,
 * 10,000 concurrent createTask on one key funded for exactly 6,000; the same on SQLite with one
 * process; PostgreSQL and Redis cut mid-load (through a TCP proxy) and restored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { openPostgresStore } from './postgres-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { AccountStore } from './store.js';
import { RED, cellsWith, gridPicture } from '../testing/pictures.js';
import { FIXTURE_MODEL } from '../testing/service.js';
import { startNode, type NodeProcess } from '../testing/node-process.js';
import { createTestDatabase, dropTestDatabase, postgresUnreachable } from '../testing/postgres.js';
import { TcpProxy } from '../testing/tcp-proxy.js';

const TASKS = 10_000;
const FUNDED = 6_000;
const IN_FLIGHT = 200;

async function reachable(): Promise<string | false> {
  const down = await postgresUnreachable();
  if (down) return down;
  const r = new Redis({ lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    return `Redis at 127.0.0.1:6379 unreachable (${(err as Error).message})`;
  } finally {
    r.disconnect();
  }
  return false;
}
const skip = await reachable();

interface Reply { errorId: number; errorCode: string; taskId?: string; balance?: number }

async function call(url: string, endpoint: string, body: unknown): Promise<Reply> {
  const res = await fetch(`${url}/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Reply;
}

/** n createTask calls, IN_FLIGHT at a time, alternating between the nodes. */
async function flood(urls: string[], n: number, body: unknown): Promise<Map<string, number>> {
  const codes = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = await call(urls[i % urls.length]!, 'createTask', body).catch((e: Error) => ({ errorId: 1, errorCode: `FETCH:${e.message}` }));
      codes.set(r.errorCode, (codes.get(r.errorCode) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return codes;
}

async function ledgerSum(store: AccountStore, id: number): Promise<{ balance: number; ledger: number }> {
  const row = (await store.list()).find((r) => r.id === id)!;
  return { balance: row.balance, ledger: row.ledgerSum };
}

let image: string;
before(async () => {
  image = (await gridPicture(cellsWith(9, RED, [0, 1, 2]), 300)).toString('base64');
});
const task = (clientKey: string) => ({ clientKey, task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' } });
const NODE_ENV = { MODEL_DIR: FIXTURE_MODEL, MODEL_DIR_4X4: '', INFERENCE_WORKERS: '1', RATE_LIMIT_RPS: '0', MAX_TASKS_IN_FLIGHT: '0' };

describe('two nodes on PostgreSQL + Redis', { skip }, () => {
  let dbName: string;
  const prefix = `gridlens-test-${process.pid}-${Date.now()}:`;
  const pgProxy = new TcpProxy(5432);
  const redisProxy = new TcpProxy(6379);
  let nodes: NodeProcess[] = [];
  let store: AccountStore;

  before(async () => {
    dbName = await createTestDatabase('gridlens_test');
    await pgProxy.start();
    await redisProxy.start();
    const env = { ...NODE_ENV, DATABASE_URL: `postgres://postgres@127.0.0.1:${pgProxy.port}/${dbName}`, REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`, REDIS_PREFIX: prefix };
    store = await openPostgresStore(`postgres://postgres@127.0.0.1:5432/${dbName}`);
    const journals = mkdtempSync(path.join(os.tmpdir(), 'gridlens-journal-'));
    nodes = [await startNode({ ...env, CHARGE_JOURNAL: path.join(journals, 'node-0.jsonl') }), await startNode({ ...env, CHARGE_JOURNAL: path.join(journals, 'node-1.jsonl') })];
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await store?.close();
    await pgProxy.cut();
    await redisProxy.cut();
    if (dbName) await dropTestDatabase(dbName);
    const r = new Redis();
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  });

  it('a task created on one node is read on the other, never by another key', async () => {
    const { clientKey } = await store.createAccount(60);
    const { clientKey: other } = await store.createAccount(60);
    const made = await call(nodes[0]!.url, 'createTask', task(clientKey));
    assert.equal(made.errorId, 0);
    const read = await call(nodes[1]!.url, 'getTaskResult', { clientKey, taskId: made.taskId });
    assert.equal(read.errorId, 0);
    assert.equal((await call(nodes[1]!.url, 'getTaskResult', { clientKey: other, taskId: made.taskId })).errorCode, 'ERROR_NO_SUCH_CAPCHA_ID');
    assert.equal((await call(nodes[0]!.url, 'getBalance', { clientKey: other })).balance, 60);
  });

  it(`${TASKS} concurrent tasks across both nodes, funded for ${FUNDED}: exactly ${FUNDED} succeed, balance 0, ledger agrees`, { timeout: 300_000 }, async () => {
    const { clientKey, id } = await store.createAccount(FUNDED * 6);
    const codes = await flood(nodes.map((n) => n.url), TASKS, task(clientKey));
    assert.deepEqual(Object.fromEntries(codes), { '': FUNDED, ERROR_ZERO_BALANCE: TASKS - FUNDED });
    assert.deepEqual(await ledgerSum(store, id), { balance: 0, ledger: 0 });
  });

  for (const [name, proxy, code] of [['Redis', redisProxy, 'cache'], ['PostgreSQL', pgProxy, 'database']] as const) {
    it(`${name} cut mid-load: ERROR_SERVICE_UNAVALIABLE, no charge for failed tasks, recovery when it returns`, { timeout: 120_000 }, async () => {
      const { clientKey, id } = await store.createAccount(1_000_000);
      const load = flood(nodes.map((n) => n.url), 1500, task(clientKey));
      await new Promise((r) => setTimeout(r, 300));
      await proxy.cut();
      const ready = await fetch(`${nodes[0]!.url}/ready`);
      assert.equal(ready.status, 503);
      assert.match(JSON.stringify(await ready.json()), name === 'Redis' ? /"redis":"down/ : /"database":"down/);
      await new Promise((r) => setTimeout(r, 700));
      await proxy.start();
      const codes = await load;
      assert.ok((codes.get('ERROR_SERVICE_UNAVALIABLE') ?? 0) > 0, `some requests failed while ${code} was down: ${JSON.stringify([...codes])}`);
      assert.deepEqual([...codes.keys()].filter((c) => c !== '' && c !== 'ERROR_SERVICE_UNAVALIABLE'), []);
      const { balance, ledger } = await ledgerSum(store, id);
      assert.equal(balance, ledger);
      assert.equal(balance, 1_000_000 - 6 * (codes.get('') ?? 0), 'charged exactly the successful tasks');
      let recovered = false;
      for (let i = 0; i < 50 && !recovered; i++) {
        recovered = (await call(nodes[i % 2]!.url, 'createTask', task(clientKey))).errorId === 0 && (await fetch(`${nodes[i % 2]!.url}/ready`)).status === 200;
        if (!recovered) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(recovered, 'both dependencies back: tasks succeed again');
    });
  }
});

describe('one node on SQLite', () => {
  it(`${TASKS} concurrent tasks funded for ${FUNDED}: exactly ${FUNDED} succeed, balance 0, ledger agrees`, { timeout: 300_000 }, async () => {
    const dbPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'gridlens-sqlite-')), 'ledger.sqlite');
    const store = openSqliteStore(dbPath);
    const { clientKey, id } = await store.createAccount(FUNDED * 6);
    const node = await startNode({ ...NODE_ENV, DB_PATH: dbPath });
    try {
      const codes = await flood([node.url], TASKS, task(clientKey));
      assert.deepEqual(Object.fromEntries(codes), { '': FUNDED, ERROR_ZERO_BALANCE: TASKS - FUNDED });
      assert.deepEqual(await ledgerSum(store, id), { balance: 0, ledger: 0 });
    } finally {
      await node.stop();
      await store.close();
    }
  });
});

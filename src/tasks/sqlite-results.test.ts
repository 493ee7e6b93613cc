/** Issue 19, case 9: on SQLite, a result charged just before kill -9 is readable after the restart, until it expires. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { openSqliteStore } from '../accounts/sqlite-store.js';
import { startNode } from '../testing/node-process.js';
import { RED, gridPicture } from '../testing/pictures.js';
import { FIXTURE_MODEL } from '../testing/service.js';
import { SqliteResults } from './sqlite-results.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-results-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('expiry, owner check, delete and the cap, through a reopen', async () => {
  let t = 1_000_000;
  const file = path.join(dir, 'unit.sqlite');
  openSqliteStore(file).close();
  const a = new SqliteResults(file, 300_000, 2, () => t);
  await a.put('t1', 1, { type: 'single', hasObject: true });
  await a.put('t2', 1, { type: 'multi', objects: [1, 5] });
  await a.close();
  const b = new SqliteResults(file, 300_000, 2, () => t);
  assert.deepEqual(await b.get('t2', 1), { type: 'multi', objects: [1, 5] }, 'survives a reopen');
  assert.equal(await b.get('t2', 2), undefined, 'another account cannot read it');
  await b.delete('t1');
  assert.equal(await b.get('t1', 1), undefined);
  t += 300_000;
  assert.equal(await b.get('t2', 1), undefined, 'expired at the TTL');
  await b.put('t3', 1, { type: 'single', hasObject: false });
  await b.put('t4', 1, { type: 'single', hasObject: false });
  await b.put('t5', 1, { type: 'single', hasObject: false });
  b.sweep();
  assert.equal(b.size, 2, 'expired rows swept, then the oldest beyond the cap');
  assert.equal(await b.get('t3', 1), undefined);
  await b.close();
});

it('a task charged just before kill -9 answers getTaskResult after the restart', { timeout: 60_000 }, async () => {
  const dbPath = path.join(dir, 'kill.sqlite');
  const store = openSqliteStore(dbPath);
  const { clientKey } = await store.createAccount(100);
  await store.close();
  const env = { MODEL_DIR: FIXTURE_MODEL, MODEL_DIR_4X4: '', INFERENCE_WORKERS: '1', DB_PATH: dbPath };
  const first = await startNode(env);
  const image = (await gridPicture([RED], 100)).toString('base64');
  const call = async (url: string, endpoint: string, body: object) => (await fetch(`${url}/${endpoint}`, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
  const made = await call(first.url, 'createTask', { clientKey, task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' } });
  assert.equal(made.errorId, 0);
  await first.signal('SIGKILL');
  const second = await startNode(env);
  try {
    const read = await call(second.url, 'getTaskResult', { clientKey, taskId: made.taskId });
    assert.equal(read.errorId, 0, JSON.stringify(read));
    assert.deepEqual(read.solution, made.solution);
    assert.equal((await call(second.url, 'getBalance', { clientKey })).balance, 98, 'charged once');
  } finally {
    await second.stop();
  }
});

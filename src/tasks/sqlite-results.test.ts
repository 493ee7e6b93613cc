/** Issue 19, case 9: on SQLite, a result charged just before kill -9 is readable after the restart, until it expires. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrate, openSqliteStore } from '../accounts/sqlite-store.js';
import { PROJECT_ROOT } from '../config.js';
import { startNode } from '../testing/node-process.js';
import { RED, cellsWith, gridPicture } from '../testing/pictures.js';
import { FIXTURE_MODEL, post, testService } from '../testing/service.js';
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

it('migrations apply in order on a fresh file, and 002/004 also on a file that already had 003 (made by a build without them)', () => {
  const fresh = new Database(':memory:');
  migrate(fresh);
  assert.deepEqual(fresh.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 2, 3, 4]);
  assert.deepEqual(fresh.prepare("SELECT name FROM pragma_table_info('results') ORDER BY cid").pluck().all(),
    ['task_id', 'account_id', 'solution', 'expires_at', 'kind', 'question', 'class', 'picture']);
  fresh.close();
  const older = new Database(':memory:');
  older.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  for (const [v, f] of [[1, '001_init.sql'], [3, '003_feedback.sql']] as const) {
    older.exec(readFileSync(path.join(PROJECT_ROOT, 'migrations', 'sqlite', f), 'utf8'));
    older.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(v, f);
  }
  migrate(older);
  assert.deepEqual(older.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 2, 3, 4]);
  assert.ok(older.prepare("SELECT COUNT(*) FROM pragma_table_info('feedback')").pluck().get() as number > 0);
  older.close();
});

it('keeps the picture, kind, question and class beside a result, through a reopen, within a byte budget', async () => {
  const t = 2_000_000;
  const file = path.join(dir, 'context.sqlite');
  openSqliteStore(file).close();
  const a = new SqliteResults(file, 300_000, 100, () => t, 10);
  const pic = (n: number) => Buffer.alloc(n, n);
  await a.put('c1', 1, { type: 'multi', objects: [0] }, { kind: '3x3', questionId: '/m/0k4j', className: 'car', picture: pic(4) });
  await a.put('c2', 1, { type: 'multi', objects: [1] }, { kind: '4x4', questionId: '/m/015qff', className: 'traffic light', picture: pic(5) });
  await a.put('c3', 1, { type: 'single', hasObject: true }, { kind: '1x1', questionId: '/m/0k4j', className: 'car', picture: pic(3) });
  await a.put('c4', 1, { type: 'single', hasObject: false });
  await a.close();
  const b = new SqliteResults(file, 300_000, 100, () => t, 10);
  const c1 = await b.task('c1', 1);
  assert.deepEqual(c1, { solution: { type: 'multi', objects: [0] }, context: { kind: '3x3', questionId: '/m/0k4j', className: 'car', picture: undefined } }, 'the oldest picture dropped for the budget, the rest kept');
  const c2 = await b.task('c2', 1);
  assert.equal(c2?.context?.className, 'traffic light');
  assert.ok(c2?.context?.picture?.equals(pic(5)));
  assert.ok((await b.task('c3', 1))?.context?.picture?.equals(pic(3)));
  assert.deepEqual(await b.task('c4', 1), { solution: { type: 'single', hasObject: false } }, 'no context: none made up');
  assert.equal(await b.task('c2', 2), undefined, 'another account cannot read it');
  assert.equal(b.heldPictureBytes, 8);
  await b.close();
});

it('feedbackTask works with results in the SQLite file, also after a restart', async () => {
  const dbPath = path.join(dir, 'feedback.sqlite');
  const picture = await gridPicture(cellsWith(9, RED, [0, 4, 8]), 300);
  let svc = await testService({ dbPath });
  let clientKey: string;
  let taskId: string;
  try {
    ({ clientKey } = await svc.accounts.createAccount(100));
    const made = await post(svc, '/createTask', { clientKey, task: { type: 'ReCaptchaV2Classification', image: picture.toString('base64'), question: '/m/0k4j' } });
    assert.equal(made.errorId, 0, made.errorDescription);
    taskId = made.taskId as string;
  } finally {
    await svc.close();
  }
  svc = await testService({ dbPath, feedbackRefund: true });
  try {
    const ok = await post(svc, '/feedbackTask', { clientKey, taskId, result: { invalid: true, objects: [0, 4] } });
    assert.equal(ok.errorId, 0, ok.errorDescription);
    const [row] = await svc.accounts.listFeedback({ pictures: true });
    assert.equal(row!.taskId, taskId);
    assert.equal(row!.kind, '3x3');
    assert.equal(row!.questionId, '/m/0k4j');
    assert.equal(row!.className, 'car');
    assert.ok(row!.picture?.equals(picture), 'the picture as sent, read back from the results table');
    assert.deepEqual(row!.correction, { objects: [0, 4] });
    assert.equal(row!.refunded, 6);
    assert.equal((await post(svc, '/getBalance', { clientKey })).balance, 100, 'charged, then refunded');
  } finally {
    await svc.close();
  }
});

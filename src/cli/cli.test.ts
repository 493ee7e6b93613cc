/** The CLI as a user runs it: keys, solve (local and through a server), help and errors. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { PROJECT_ROOT } from '../config.js';
import { openSqliteStore } from '../accounts/sqlite-store.js';
import { RED, cellsWith, gridPicture } from '../testing/pictures.js';
import { FIXTURE_MODEL, testService } from '../testing/service.js';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const gl = (args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, MODEL_DIR: FIXTURE_MODEL, MODEL_DIR_4X4: '' } });

it('keys create/credit/list/revoke on a SQLite file', async () => {
  const db = path.join(mkdtempSync(path.join(os.tmpdir(), 'gl-cli-')), 'k.sqlite');
  const made = JSON.parse((await gl(['keys', 'create', '--points', '100000', '--json', '--db', db])).stdout) as { clientKey: string; balance: number };
  assert.equal(made.balance, 100000);
  assert.match(made.clientKey, /^[0-9a-f]{32}$/);
  assert.deepEqual(JSON.parse((await gl(['keys', 'credit', made.clientKey, '--points', '5', '--json', '--db', db])).stdout), { balance: 100005 });
  const list = JSON.parse((await gl(['keys', 'list', '--json', '--db', db])).stdout) as { balance: number; ledgerSum: number; keyHint: string }[];
  assert.equal(list[0]!.ledgerSum, 100005);
  assert.equal(list[0]!.keyHint, made.clientKey.slice(0, 6));
  assert.equal((await gl(['keys', 'revoke', made.clientKey, '--db', db])).stdout.trim(), `revoked ${made.clientKey.slice(0, 6)}…`);
  await assert.rejects(gl(['keys', 'credit', made.clientKey, '--points', '5', '--db', db]), (e: { code: number; stderr: string }) => e.code === 2 && /no live account/.test(e.stderr));
  await assert.rejects(gl(['keys', 'create', '--points', 'lots', '--db', db]), (e: { stderr: string }) => /--points must be a whole number/.test(e.stderr));
});

it('solve prints the answer with per-cell scores, locally and through a server', async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'gl-cli-')), 'g.png');
  writeFileSync(file, await gridPicture(cellsWith(9, RED, [2, 4, 6]), 300));
  const local = JSON.parse((await gl(['solve', file, '--question', 'cars'])).stdout) as { kind: string; class: string; solution: { objects: number[]; scores: number[] } };
  assert.equal(local.kind, '3x3');
  assert.equal(local.class, 'car');
  assert.deepEqual(local.solution.objects, [2, 4, 6]);
  assert.equal(local.solution.scores.length, 9);
  const svc = await testService();
  try {
    const url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
    const { clientKey } = await svc.accounts.createAccount(100);
    const remote = JSON.parse((await gl(['solve', file, '--question', '/m/0k4j', '--server', url, '--key', clientKey])).stdout) as { solution: { objects: number[] } };
    assert.deepEqual(remote.solution.objects, [2, 4, 6]);
    const picky = JSON.parse((await gl(['solve', file, '--question', '/m/0k4j', '--confidence', '0.5', '--server', url, '--key', clientKey])).stdout) as { solution: { objects: number[] } };
    assert.deepEqual(picky.solution.objects, [2, 4, 6]);
    await assert.rejects(gl(['solve', file, '--question', 'cars', '--confidence', 'abc', '--server', url, '--key', clientKey]), (e: { code: number; stderr: string }) => e.code === 2 && /--confidence must be a number from 0\.0 to 1\.0, got abc/.test(e.stderr));
  } finally {
    await svc.close();
  }
  // --confidence: every tile at or above it (here none for buses); --grid: the kind of a picture of another size
  const none = JSON.parse((await gl(['solve', file, '--question', 'bus', '--confidence', '0.5'])).stdout) as { solution: { objects: number[] } };
  assert.deepEqual(none.solution.objects, []);
  const shot = path.join(path.dirname(file), 'shot.png');
  writeFileSync(shot, await gridPicture(cellsWith(16, RED, [0, 5, 10, 15]), 600));
  const four = JSON.parse((await gl(['solve', shot, '--question', 'cars', '--grid', '4x4'])).stdout) as { kind: string; solution: { objects: number[]; scores: number[] } };
  assert.equal(four.kind, '4x4');
  assert.deepEqual(four.solution.objects, [0, 5, 10, 15]);
  assert.equal(four.solution.scores.length, 16);
  await assert.rejects(gl(['solve', file, '--question', 'cars', '--confidence', '1.5']), (e: { code: number; stderr: string }) => e.code === 2 && /--confidence must be a number from 0\.0 to 1\.0/.test(e.stderr));
  await assert.rejects(gl(['solve', file, '--question', '/m/0pg52']), (e: { code: number; stderr: string }) => e.code === 2 && /ERROR_CAPTCHA_UNSOLVABLE/.test(e.stderr));
  await assert.rejects(gl(['solve', file, '--question', 'cars', '--grid', '5x5']), (e: { stderr: string }) => /--grid must be one of 3x3, 4x4, 1x1/.test(e.stderr));
});

it('questions: per question and grid, whether the models answer it, and why not', async () => {
  const text = (await gl(['questions'])).stdout;
  assert.match(text, /\/m\/0k4j\s+cars\s+yes\s+yes\s+yes\s+汽车/);
  assert.match(text, /\/m\/0cdl1\s+palm trees\s+yes\s+gated\s+yes/);
  assert.match(text, /\/m\/0pg52\s+taxis\s+no class\s+no class\s+no class/);
  const json = JSON.parse((await gl(['questions', '--json'])).stdout) as { questions: { id: string; answers: Record<string, { answered: boolean; model: string; reason?: string }> }[] };
  const palm = json.questions.find((q) => q.id === '/m/0cdl1')!;
  assert.equal(palm.answers['3x3']!.answered, true);
  assert.equal(palm.answers['3x3']!.model, 'tiny-colour-fixture');
  assert.match(palm.answers['4x4']!.reason!, /below its validation gate/);
});

it('keys credit and revoke by name or key prefix, refusing an ambiguous prefix; keys list shows names', async () => {
  const db = path.join(mkdtempSync(path.join(os.tmpdir(), 'gl-cli-')), 'k.sqlite');
  const create = async (name: string) => (JSON.parse((await gl(['keys', 'create', '--points', '10', '--name', name, '--json', '--db', db])).stdout) as { clientKey: string }).clientKey;
  const alice = await create('alice');
  await create('bob');
  assert.deepEqual(JSON.parse((await gl(['keys', 'credit', 'alice', '--points', '5', '--json', '--db', db])).stdout), { balance: 15 });
  const list = (await gl(['keys', 'list', '--db', db])).stdout;
  assert.match(list, /^id +key +name +balance/);
  assert.match(list, new RegExp(`\\n1 +${alice.slice(0, 6)}… alice +15 +15 `));
  assert.match(list, /\n2 +[0-9a-f]{6}… bob +10 /);
  // 18 more keys: of 20 keys over 16 hex digits, some first digit is shared
  for (let i = 0; i < 18; i++) await create(`k${i}`);
  const hints = (JSON.parse((await gl(['keys', 'list', '--json', '--db', db])).stdout) as { id: number; keyHint: string }[]);
  const shared = hints.find((h) => hints.filter((o) => o.keyHint[0] === h.keyHint[0]).length > 1)!.keyHint[0]!;
  const sharing = hints.filter((h) => h.keyHint[0] === shared).map((h) => `id ${h.id} \\(${h.keyHint}…`);
  await assert.rejects(gl(['keys', 'revoke', shared, '--db', db]), (e: { code: number; stderr: string }) =>
    e.code === 2 && new RegExp(`"${shared}" is ambiguous: it matches ${sharing.length} live accounts: ${sharing.join('.*')}`).test(e.stderr));
  assert.equal((await gl(['keys', 'revoke', alice.slice(0, 6), '--db', db])).stdout.trim(), `revoked ${alice.slice(0, 6)}… (alice)`);
  await assert.rejects(gl(['keys', 'credit', 'alice', '--points', '1', '--db', db]), (e: { code: number; stderr: string }) => e.code === 2 && /no live account has the name or key prefix "alice"/.test(e.stderr));
  await assert.rejects(gl(['keys', 'credit', alice.slice(0, 10), '--points', '1', '--db', db]), (e: { stderr: string }) => /a key prefix is at most 6 characters/.test(e.stderr));
});

it('usage: tasks, points and refunds per day from the ledger, for one key or all, --since', async () => {
  const db = path.join(mkdtempSync(path.join(os.tmpdir(), 'gl-cli-')), 'u.sqlite');
  const store = openSqliteStore(db);
  const a = await store.createAccount(100, 'shop');
  const b = await store.createAccount(100, 'lab');
  for (const t of ['t1', 't2', 't3']) await store.charge(a.id, 6, t);
  await store.charge(b.id, 2, 't4');
  await store.addFeedback({ taskId: 't1', accountId: a.id, source: 'feedbackTask', kind: '3x3', questionId: '/m/0k4j', className: 'car', answer: { type: 'multi', objects: [1] }, invalid: true, code: '', message: '' }, { maxPerDay: 5 });
  await store.close();
  const today = new Date().toISOString().slice(0, 10);
  assert.deepEqual(JSON.parse((await gl(['usage', 'shop', '--json', '--db', db])).stdout), [{ day: today, tasks: 3, points: 18, refunds: 1, refundedPoints: 6 }]);
  assert.deepEqual(JSON.parse((await gl(['usage', '--json', '--db', db])).stdout), [{ day: today, tasks: 4, points: 20, refunds: 1, refundedPoints: 6 }]);
  assert.deepEqual(JSON.parse((await gl(['usage', 'lab', '--since', '2999-01-01', '--json', '--db', db])).stdout), []);
  const text = (await gl(['usage', b.clientKey.slice(0, 6), '--db', db])).stdout;
  assert.match(text, new RegExp(`^account ${b.id} .*\\(lab\\)\\n`));
  assert.match(text, new RegExp(`\\n${today} +1 +2 +0 +0\\n`));
  assert.match(text, /errors: not in the ledger/);
  await assert.rejects(gl(['usage', '--since', 'yesterday', '--db', db]), (e: { code: number; stderr: string }) => e.code === 2 && /--since must be a day as YYYY-MM-DD, got "yesterday"/.test(e.stderr));
});

it('--version prints package.json\'s version', async () => {
  const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal((await gl(['--version'])).stdout, `${version}\n`);
});

it('--help explains every command; an unknown one says what exists', async () => {
  const help = (await gl(['--help'])).stdout;
  for (const cmd of ['serve', 'keys', 'feedback', 'solve', 'eval', 'calibrate-grid4', 'usage', 'questions']) assert.match(help, new RegExp(`\\n  ${cmd} +[a-z]`));
  // no stray lines: the command list, a quick start and the options, nothing copied from sub-commands' help
  assert.ok(!/gridlens (keys|solve|eval|feedback): /.test(help), help);
  assert.match(help, /--version, -v +gridlens's version\n$/);
  assert.match((await gl(['serve', '--help'])).stdout, /DATABASE_URL/);
  await assert.rejects(gl(['frobnicate']), (e: { code: number; stderr: string }) => e.code === 2 && /commands: serve, keys/.test(e.stderr));
});

it('keys --points takes decimal digits only, up to Number.MAX_SAFE_INTEGER (issue 19)', async () => {
  const db = path.join(mkdtempSync(path.join(os.tmpdir(), 'gl-cli-')), 'k.sqlite');
  for (const bad of ['1e3', '0x10', '0b1', '9007199254740992']) {
    await assert.rejects(gl(['keys', 'create', '--points', bad, '--db', db]), (e: { code: number; stderr: string }) => e.code === 2 && /--points must be a whole number from 0 to 9007199254740991 in decimal digits/.test(e.stderr), bad);
  }
  const made = JSON.parse((await gl(['keys', 'create', '--points', '9007199254740990', '--json', '--db', db])).stdout) as { clientKey: string; balance: number };
  await assert.rejects(gl(['keys', 'credit', made.clientKey, '--points', '2', '--db', db]), (e: { stderr: string }) => /past 9007199254740991/.test(e.stderr));
  assert.deepEqual(JSON.parse((await gl(['keys', 'credit', made.clientKey, '--points', '1', '--json', '--db', db])).stdout), { balance: 9007199254740991 });
});

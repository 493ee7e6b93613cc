/**
 * `npm run chaos`: a bounded fault suite against `node dist/src/server.js` children on loopback
 * only (127.0.0.1), writing docs/reliability.md (issue 19). Every loop has a count and a deadline.
 *  1. GIF flood: 12 KB GIFs of 4096x4096 from a zero-balance key, an unanswerable question and a
 *     paying key, while another key sends 1x1 tiles one after another: that key's p50/p99.
 *  2. Stalled clients: uploads that stop after the headers are closed within REQUEST_TIMEOUT_MS.
 *  3. SIGTERM with stalled clients connected and tasks in flight: the exit time.
 *  4. Charges under load: every success charged once, every failure not at all (ledger vs answers,
 *     read from the SQLite file after the server is gone).
 *  5. Outbound traffic: the first server runs under strace (where present); connects and DNS counted.
 *  6. PostgreSQL: two nodes, a small pool, 300 and 600 concurrent requests: busy answers versus
 *     false "unreachable" answers, and the ledger.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../src/config.js';
import { openSqliteStore } from '../src/accounts/sqlite-store.js';
import { openPostgresStore } from '../src/accounts/postgres-store.js';
import { RED, bigGif, cellsWith, gridPicture } from '../src/testing/pictures.js';
import { createTestDatabase, dropTestDatabase, postgresUnreachable } from '../src/testing/postgres.js';
import { outbound } from '../src/testing/outbound.js';
import { quantile } from './open-loop.js';

const HOST = '127.0.0.1'; // loopback only
const T = 'ReCaptchaV2Classification';
type Answer = { errorId: number; errorCode: string; taskId?: string };

interface Server { url: string; port: number; pid: number; child: ChildProcess; exited: Promise<void> }

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, HOST, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function start(env: Record<string, string>, traceFile?: string): Promise<Server> {
  const port = await freePort();
  const server = [path.join(PROJECT_ROOT, 'dist', 'src', 'server.js')];
  const { ORT_DISABLE_TELEMETRY: _, ...base } = process.env; // the server must turn telemetry off itself
  const fullEnv = { ...base, LOG_LEVEL: 'warn', RATE_LIMIT_RPS: '0', MAX_TASKS_IN_FLIGHT: '0', ...env, PORT: String(port), HOST };
  const child = traceFile
    ? spawn('strace', ['-f', '-qq', '-e', 'trace=connect,sendto,sendmsg,sendmmsg', '-e', 'inject=connect:error=ENETUNREACH', '-o', traceFile, process.execPath, ...server], { env: fullEnv, stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(process.execPath, server, { env: fullEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://${HOST}:${port}`;
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) {
      const pid = traceFile ? Number(spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0]) : child.pid!;
      return { url, port, pid, child, exited };
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('server did not start within 30 s');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(url: string, endpoint: string, body: object): Promise<Answer> {
  try {
    return (await (await fetch(`${url}/${endpoint}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) })).json()) as Answer;
  } catch (err) {
    return { errorId: 1, errorCode: `TRANSPORT ${(err as Error).name}` };
  }
}

const task = (clientKey: string, image: string, question: string, extra: object = {}) => ({ clientKey, task: { type: T, image, question, ...extra } });

function stall(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect(port, HOST, () => { s.write('POST /getBalance HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n'); resolve(s); });
    s.on('error', () => undefined);
    s.resume(); // read the server's answer, so its close is seen
  });
}

const counts = (answers: Answer[]) => answers.reduce<Record<string, number>>((m, a) => ({ ...m, [a.errorCode || 'ok']: (m[a.errorCode || 'ok'] ?? 0) + 1 }), {});
const fmt = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/reliability.md' }, help: { type: 'boolean' } } });
  if (values.help) return void console.log('npm run chaos -- [--out docs/reliability.md]');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-chaos-'));
  const lines: string[] = [];
  const verdict: [string, string, boolean][] = [];
  const tile = (await gridPicture([RED], 100)).toString('base64');
  const three = (await gridPicture(cellsWith(9, RED, [0, 4, 8]), 300)).toString('base64');
  const gif = (await bigGif()).toString('base64');
  try {
    // ---- SQLite node, under strace where it can run ----
    const dbPath = path.join(dir, 'chaos.sqlite');
    const store = openSqliteStore(dbPath);
    const other = (await store.createAccount(100_000)).clientKey;
    const zero = (await store.createAccount(0)).clientKey;
    const rich = (await store.createAccount(100_000)).clientKey;
    const payers = await Promise.all([0, 1, 2, 3].map(() => store.createAccount(10_000)));
    await store.close();
    const traceable = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true']).status === 0;
    const traceFile = traceable ? path.join(dir, 'trace') : undefined;
    const env = { DB_PATH: dbPath, REQUEST_TIMEOUT_MS: '3000', HEADERS_TIMEOUT_MS: '3000', SHUTDOWN_TIMEOUT_MS: '10000' };
    const node = await start(env, traceFile);
    console.log(`chaos: server ${node.url}${traceable ? ' under strace' : ''}`);

    // 1. GIF flood
    const probe = async (until: () => boolean, max = 2000) => {
      const ms: number[] = [];
      for (let i = 0; i < max && !until(); i++) {
        const t = performance.now();
        const a = await call(node.url, 'createTask', task(other, tile, '/m/0k4j'));
        if (a.errorId === 0) ms.push(performance.now() - t);
      }
      return ms.sort((a, b) => a - b);
    };
    let baselineDone = false;
    setTimeout(() => { baselineDone = true; }, 3000);
    const baseline = await probe(() => baselineDone, 300);
    let floodDone = false;
    const floodAnswers: Answer[] = [];
    const richAnswers: Answer[] = [];
    const flood = (async () => {
      for (let wave = 0; wave < 4; wave++) { // 4 waves of 32 + 32 + 4
        const reqs = [
          ...Array.from({ length: 32 }, () => call(node.url, 'createTask', task(zero, gif, '/m/0k4j', { grid: '3x3' }))),
          ...Array.from({ length: 32 }, () => call(node.url, 'createTask', task(rich, gif, '/m/0pg52', { grid: '3x3' }))),
        ];
        const paid = Array.from({ length: 4 }, () => call(node.url, 'createTask', task(rich, gif, '/m/0k4j', { grid: '3x3' })));
        floodAnswers.push(...(await Promise.all(reqs)));
        richAnswers.push(...(await Promise.all(paid)));
      }
      floodDone = true;
    })();
    const during = await probe(() => floodDone);
    await flood;
    const p = (xs: number[], q: number) => (xs.length ? quantile(xs, q) : Number.NaN);
    lines.push('## 1. GIF flood', '',
      'Per wave: 32 GIFs of 4096x4096 (12 KB each, `grid: "3x3"`) from a key with zero balance, 32 with an unanswerable question (`/m/0pg52`) and 4 paid ones; 4 waves. Meanwhile another key sends 1x1 tiles one at a time.', '',
      '| another key\'s 1x1 | requests | p50 ms | p99 ms | max ms |', '|---|---|---|---|---|',
      `| before the flood | ${baseline.length} | ${p(baseline, 0.5).toFixed(1)} | ${p(baseline, 0.99).toFixed(1)} | ${baseline.at(-1)?.toFixed(1)} |`,
      `| during the flood | ${during.length} | ${p(during, 0.5).toFixed(1)} | ${p(during, 0.99).toFixed(1)} | ${during.at(-1)?.toFixed(1)} |`, '',
      `Free flood answers: ${fmt(counts(floodAnswers))}. Paid GIFs: ${fmt(counts(richAnswers))}.`, '');
    verdict.push(['another key\'s 1x1 p99 during the GIF flood', `${p(during, 0.99).toFixed(1)} ms`, p(during, 0.99) < 200]);

    // 4. charges under load (sent now, checked once the server is gone)
    const loadAnswers: { key: number; a: Answer }[] = [];
    for (let round = 0; round < 10; round++) {
      loadAnswers.push(...await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const key = i % payers.length;
        const a = await call(node.url, 'createTask', task(payers[key]!.clientKey, i % 2 ? tile : three, '/m/0k4j', i % 5 === 0 ? { confidence: 'oops' } : {}));
        return { key, a };
      })));
    }

    // 2. stalled clients
    const stalled = await Promise.all(Array.from({ length: 200 }, () => stall(node.port)));
    const t3 = performance.now();
    const closedAt = await Promise.all(stalled.map((s) => new Promise<number>((r) => { s.once('close', () => r(performance.now() - t3)); setTimeout(() => r(Number.POSITIVE_INFINITY), 15_000).unref(); })));
    const stillServing = await call(node.url, 'getBalance', { clientKey: other });
    lines.push('## 2. Stalled uploads', '', `200 connections send headers announcing a 100-byte body, then nothing (REQUEST_TIMEOUT_MS 3000): the last was closed after ${Math.max(...closedAt).toFixed(0)} ms; getBalance meanwhile: ${stillServing.errorId === 0 ? 'answered' : stillServing.errorCode}.`, '');
    verdict.push(['stalled uploads closed', `${closedAt.filter(Number.isFinite).length}/200 within ${Math.max(...closedAt).toFixed(0)} ms`, closedAt.every((ms) => ms < 5000)]);

    // 3. SIGTERM with stalled clients and tasks in flight
    const hung = await Promise.all(Array.from({ length: 50 }, () => stall(node.port)));
    const inFlight = Array.from({ length: 4 }, () => call(node.url, 'createTask', task(rich, gif, '/m/0k4j', { grid: '3x3' })));
    await sleep(100);
    const t4 = performance.now();
    process.kill(node.pid, 'SIGTERM');
    await Promise.race([node.exited, sleep(20_000)]);
    const exitMs = performance.now() - t4;
    const finished = await Promise.all(inFlight);
    for (const s of hung) s.destroy();
    if (node.child.exitCode === null) node.child.kill('SIGKILL');
    lines.push('## 3. SIGTERM', '', `50 stalled uploads connected and 4 paid 4096x4096 GIF tasks in flight (decoded one at a time for their key): exit after ${exitMs.toFixed(0)} ms (SHUTDOWN_TIMEOUT_MS 10000). The tasks in flight: ${fmt(counts(finished))}.`, '');
    verdict.push(['SIGTERM exit with stalled clients', `${exitMs.toFixed(0)} ms`, exitMs < 10_000]);

    // 4 (ledger) after the server is gone: the file is the truth
    const db = new Database(dbPath, { readonly: true });
    const charged = (key: string) => db.prepare('SELECT COALESCE(-SUM(l.points), 0) AS p, COUNT(*) AS n FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE l.kind = \'charge\' AND a.key_hint = ?').get(key.slice(0, 6)) as { p: number; n: number };
    const doubled = (db.prepare('SELECT COUNT(*) AS n FROM (SELECT task_id FROM ledger WHERE task_id IS NOT NULL GROUP BY task_id HAVING COUNT(*) > 1)').get() as { n: number }).n;
    let lost = 0;
    payers.forEach((payer, k) => {
      const ok = loadAnswers.filter((x) => x.key === k && x.a.errorId === 0);
      const expected = ok.length; // one ledger row per success
      lost += Math.abs(charged(payer.clientKey).n - expected);
    });
    const zeroCharged = charged(zero).n;
    const richOk = [...richAnswers, ...finished].filter((a) => a.errorId === 0).length;
    const richRows = charged(rich).n;
    db.close();
    lines.push('## 4. Charges', '', `200 createTask from 4 keys, 20 at a time (a fifth with a bad confidence): ${fmt(counts(loadAnswers.map((x) => x.a)))}. Ledger rows that differ from the successful answers: ${lost}; task ids charged twice: ${doubled}. Zero-balance key charged ${zeroCharged} times; the paying flood key answered ${richOk} successes and has ${richRows} charge rows (the unanswerable GIFs cost nothing).`, '');
    verdict.push(['lost or doubled charges (SQLite)', `${lost + doubled + Math.abs(richOk - richRows)}`, lost + doubled === 0 && richOk === richRows && zeroCharged === 0]);

    // 5. outbound
    if (traceFile) {
      const found = outbound(readFileSync(traceFile, 'utf8'));
      lines.push('## 5. Outbound traffic', '', `The server above ran under strace (connect/sendto/sendmsg/sendmmsg, every connect made to fail): ${found.length} outbound connects or DNS look-ups.${found.length ? `\n\n\`\`\`\n${found.slice(0, 10).join('\n')}\n\`\`\`` : ''}`, '');
      verdict.push(['outbound look-ups', String(found.length), found.length === 0]);
    } else {
      lines.push('## 5. Outbound traffic', '', 'strace is missing or not permitted here: not measured (src/inference/no-network.test.ts skips for the same reason).', '');
    }

    // 6. PostgreSQL
    const pgDown = await postgresUnreachable();
    if (pgDown) {
      lines.push('## 6. PostgreSQL', '', `Not run: ${pgDown}.`, '');
    } else {
      const name = await createTestDatabase('gridlens_chaos');
      try {
        const url = `postgres://postgres@${HOST}:5432/${name}`;
        const pgStore = await openPostgresStore(url);
        const keys = await Promise.all(Array.from({ length: 8 }, () => pgStore.createAccount(100_000)));
        const rows: string[] = [];
        let falseUnavailable = 0;
        let ok = 0;
        const settings: [string, Record<string, string>, number[]][] = [
          ['defaults (PG_POOL_SIZE 20, PG_POOL_WAIT_MS 5000, PG_QUEUE_MAX 500)', {}, [300, 600, 1000]],
          ['a deliberately small pool (PG_POOL_SIZE 4, PG_POOL_WAIT_MS 1000, PG_QUEUE_MAX 100)', { PG_POOL_SIZE: '4', PG_POOL_WAIT_MS: '1000', PG_QUEUE_MAX: '100' }, [300, 600]],
        ];
        for (const [label, pgEnv, sizes] of settings) {
          const nodes = [await start({ DATABASE_URL: url, ...pgEnv, CHARGE_JOURNAL: path.join(dir, 'j0.jsonl') }), await start({ DATABASE_URL: url, ...pgEnv, CHARGE_JOURNAL: path.join(dir, 'j1.jsonl') })];
          for (const n of sizes) {
            const t = performance.now();
            const answers = await Promise.all(Array.from({ length: n }, (_, i) => call(nodes[i % 2]!.url, 'createTask', task(keys[i % keys.length]!.clientKey, tile, '/m/0k4j'))));
            const c = counts(answers);
            falseUnavailable += c.ERROR_SERVICE_UNAVALIABLE ?? 0;
            ok += c.ok ?? 0;
            rows.push(`| ${label} | ${n} | ${fmt(c)} | ${((performance.now() - t) / 1000).toFixed(1)} s |`);
          }
          for (const n of nodes) { n.child.kill('SIGTERM'); await n.exited; }
        }
        const summaries = await pgStore.list();
        const spent = summaries.reduce((s, a) => s + (100_000 - a.balance), 0);
        const ledgerOk = summaries.every((a) => a.balance === a.ledgerSum);
        await pgStore.close();
        lines.push('## 6. PostgreSQL', '', 'Two nodes on one PostgreSQL, 8 keys, 1x1 tasks, all sent at once; PostgreSQL healthy throughout.', '',
          '| pool | concurrent | answers | all answered in |', '|---|---|---|---|', ...rows, '',
          `Points spent ${spent} for ${ok} successes at 2 points each (${spent === ok * 2 ? 'equal' : 'DIFFERENT'}); balance equals ledger sum on every account: ${ledgerOk}.`, '');
        verdict.push(['false ERROR_SERVICE_UNAVALIABLE (PostgreSQL healthy)', String(falseUnavailable), falseUnavailable === 0]);
        verdict.push(['lost or doubled charges (PostgreSQL)', String(Math.abs(spent - ok * 2)), spent === ok * 2 && ledgerOk]);
      } finally {
        await dropTestDatabase(name).catch(() => undefined);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const doc = [
    '# Reliability (generated by `npm run chaos`, bench/chaos.ts)', '',
    `Measured ${new Date().toISOString().slice(0, 10)} on this machine (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown'}), load ${os.loadavg()[0]!.toFixed(1)} at the end; loopback only, every loop bounded. The shipped models; results in SQLite unless stated.`, '',
    '| check (issue 19) | measured | pass |', '|---|---|---|',
    ...verdict.map(([what, v, ok]) => `| ${what} | ${v} | ${ok ? 'yes' : '**no**'} |`), '',
    ...lines,
  ].join('\n');
  writeFileSync(path.resolve(PROJECT_ROOT, values.out!), `${doc}\n`);
  console.log(doc);
  if (verdict.some(([, , ok]) => !ok)) process.exitCode = 1;
}

await main();

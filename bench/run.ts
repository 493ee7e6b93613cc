/**
 * Benchmarks behind docs/benchmarks.md (`npm run bench`):
 *  1. createTask latency and throughput over HTTP with autocannon, for 3x3, 4x4 and 1x1 pictures
 *     from ../shared/data, at 1 and 16 concurrent clients in a closed loop (autocannon) and, for
 *     3x3 and 4x4, 16 independent clients offering a fixed rate (bench/open-loop.ts), against
 *     `node dist/src/server.js` started as a child process on the shipped model (so the load
 *     generator does not share the server's event loop);
 *  2. each model's forward alone (bench/model-speed.ts): a batch of nine on one worker, tiles/s on
 *     two workers, beside the validation figures its model.json records.
 * Every figure is also measured, in the same run and row by row, on the build of a reference commit
 * (issue 17: 50ddedc, the from-scratch models), started beside the current service from a copy of
 * that commit in the temp folder, and reported as a ratio to it: this machine's speed drifts from
 * day to day, the ratio much less.
 * Targets (issue 17): 3x3 p50 <= 1.25x and 4x4 p50 <= 1.5x the reference's at 1 client; 16 clients
 * in a closed loop >= 0.8x its requests/s; 16 clients offering 150 req/s: p99 <= 60 ms; >= 1,500
 * tiles/s on two workers (batches of nine).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { PROJECT_ROOT, loadConfig, resolveFromRoot } from '../src/config.js';
import type { AccountStore } from '../src/accounts/store.js';
import { readTar } from '../src/eval/tar.js';
import { startNode, type NodeProcess } from '../src/testing/node-process.js';
import { measure, type SpeedRow } from './model-speed.js';
import { openLoop, quantile } from './open-loop.js';
import { profileRequests } from './profile.js';

const DATA = path.join(PROJECT_ROOT, '..', 'shared', 'data');

interface Row { kind: string; clients: number; rate: number; serverCpuMs: number; p50: number; p90: number; p99: number; rps: number; errors: number; non2xx: number; requests: number; healthMaxMs: number }

function first(tar: string): Buffer {
  for (const e of readTar(tar)) return e.data;
  throw new Error(`empty ${tar}`);
}

async function pictures(): Promise<Record<string, { image: string; question: string }>> {
  const tile = first(path.join(DATA, 'tiles-v1', 'train-bus-000.tar'));
  return {
    '3x3': { image: first(path.join(DATA, 'grid3-v1', 'grid3-000.tar')).toString('base64'), question: '/m/015qff' },
    '4x4': { image: first(path.join(DATA, 'grid4-v1', 'grid4-train.tar')).toString('base64'), question: '/m/0199g' },
    '1x1': { image: (await sharp(tile).resize(100, 100).jpeg({ quality: 90 }).toBuffer()).toString('base64'), question: '/m/01bjv' },
  };
}

/** Slowest GET /health seen while the load runs: how long the event loop ever made I/O wait. */
async function probeHealth(base: string, until: () => boolean): Promise<number> {
  let worst = 0;
  while (!until()) {
    const t = performance.now();
    await fetch(`${base}/health`);
    worst = Math.max(worst, performance.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
  return worst;
}

/** CPU seconds (user + system, all threads) the process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** Measures one row: server CPU per request, the slowest /health beside the load, and the load's own figures. */
async function measured(url: string, serverPid: number, run: () => Promise<Omit<Row, 'kind' | 'serverCpuMs' | 'healthMaxMs'>>): Promise<Omit<Row, 'kind'>> {
  let done = false;
  const health = probeHealth(new URL(url).origin, () => done);
  const cpu0 = cpuSeconds(serverPid);
  const r = await run();
  const serverCpuMs = ((cpuSeconds(serverPid) - cpu0) * 1000) / Math.max(1, r.requests);
  done = true;
  return { ...r, serverCpuMs, healthMaxMs: await health };
}

/** Closed loop: `clients` autocannon connections for `seconds`, each sending its next request when the last is answered. */
function closedLoop(url: string, body: string, clients: number, seconds: number, serverPid: number): Promise<Omit<Row, 'kind'>> {
  return measured(url, serverPid, async () => {
    const r = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: clients, duration: seconds });
    return { clients, rate: 0, p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, rps: r.requests.average, errors: r.errors, non2xx: r.non2xx, requests: r.requests.total };
  });
}

/** Open loop: `clients` independent clients offering `rate` requests/s together (bench/open-loop.ts). */
function paced(url: string, body: string, clients: number, rate: number, seconds: number, serverPid: number): Promise<Omit<Row, 'kind'>> {
  return measured(url, serverPid, async () => {
    const r = await openLoop(url, body, clients, rate, seconds);
    const ms = (q: number) => Math.round(quantile(r.latencies, q));
    return { clients, rate, p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), rps: r.latencies.length / r.elapsedSeconds, errors: r.errors, non2xx: r.non2xx, requests: r.latencies.length + r.errors };
  });
}

/**
 * The reference build: `git archive COMMIT` into the temp folder, this checkout's node_modules
 * linked in (the reference commit has the same dependencies), compiled with this checkout's tsc.
 * Kept between runs. Null, with the reason printed, where the commit is not in this clone.
 */
function referenceBuild(commit: string): string | null {
  if (spawnSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: PROJECT_ROOT, stdio: 'ignore' }).status !== 0) {
    console.error(`reference ${commit}: not in this clone's history (a shallow clone?), so no ratios; \`git fetch --unshallow\` brings it`);
    return null;
  }
  const dir = path.join(os.tmpdir(), `gridlens-reference-${commit}`);
  if (existsSync(path.join(dir, 'dist', 'src', 'server.js'))) return dir;
  console.error(`reference ${commit}: extracting and building it in ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C "${dir}"`], { cwd: PROJECT_ROOT });
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { stdio: 'inherit' });
  return dir;
}

/** A server of `root`'s build on a fresh SQLite file with one rich account; its client key. */
async function serve(root: string): Promise<{ server: NodeProcess; clientKey: string }> {
  const dbPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'gridlens-bench-')), 'bench.sqlite');
  const { openSqliteStore } = (await import(path.join(root, 'dist', 'src', 'accounts', 'sqlite-store.js'))) as { openSqliteStore: (f: string) => AccountStore };
  const store = openSqliteStore(dbPath);
  const { clientKey } = await store.createAccount(1_000_000_000);
  await store.close();
  return { server: await startNode({ DB_PATH: dbPath, RATE_LIMIT_RPS: '0', MAX_TASKS_IN_FLIGHT: '0' }, root), clientKey };
}

interface Side { server: NodeProcess; clientKey: string }
interface Pair { row: Row; ref?: Row }
interface ModelRow { role: string; dir: string; speed: SpeedRow; accuracy: string }

async function row(side: Side, kind: string, image: string, question: string, clients: number, rate: number, seconds: number): Promise<Row> {
  const body = JSON.stringify({ clientKey: side.clientKey, task: { type: 'ReCaptchaV2Classification', image, question } });
  const url = `${side.server.url}/createTask`;
  return { kind, ...(rate ? await paced(url, body, clients, rate, seconds, side.server.pid) : await closedLoop(url, body, clients, seconds, side.server.pid)) };
}

async function warm(side: Side, kind: string, image: string, question: string): Promise<void> {
  const body = JSON.stringify({ clientKey: side.clientKey, task: { type: 'ReCaptchaV2Classification', image, question } });
  const check = (await (await fetch(`${side.server.url}/createTask`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).json()) as { errorId: number; errorCode: string };
  if (check.errorId !== 0) throw new Error(`${kind}: ${check.errorCode}`);
  await closedLoop(`${side.server.url}/createTask`, body, 4, 2, side.server.pid);
}

/** What a model's model.json says of its validation accuracy, in one line. */
function accuracy(dir: string): string {
  const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { metrics?: { validation?: Record<string, unknown> } };
  const v = m.metrics?.validation ?? {};
  const pct = (x: unknown) => `${(Number(x) * 100).toFixed(1)}%`;
  if (typeof v.top1 === 'number') return `tile top-1 ${pct(v.top1)} (${String(v.tiles)} validation tiles)`;
  const learned = v.learned as { all?: { f1: number; exactSet: number; total: number } } | undefined;
  if (learned?.all) return `square F1 ${learned.all.f1.toFixed(3)}, exact set ${pct(learned.all.exactSet)} (${learned.all.total} challenges)`;
  if (typeof v.f1 === 'number') return `square F1 ${(v.f1).toFixed(3)}, exact set ${pct(v.exact)} (${String(v.challenges)} challenges)`;
  return 'not recorded';
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, out: { type: 'string', default: 'docs/benchmarks.md' },
    reference: { type: 'string', default: '50ddedc' }, 'no-reference': { type: 'boolean' }, compare: { type: 'string', multiple: true, default: [] },
    'profile-requests': { type: 'string', default: '200' }, help: { type: 'boolean' } } });
  if (values.help) {
    return void console.log('npm run bench -- [--seconds 10] [--out docs/benchmarks.md] [--reference 50ddedc | --no-reference] [--compare MODEL_DIR]… [--profile-requests 200]\n' +
      '  every row runs on the current build and then on the reference commit\'s build (extracted to the temp folder and\n' +
      '  compiled on first use), and reports both and their ratio; --no-reference measures the current build only.\n' +
      '  --compare: one more model folder timed beside the shipped ones (e.g. the float model a faster one was distilled from).\n' +
      '  --profile-requests: createTask calls per kind for the CPU profile of the request path (bench/profile.ts; 0 = none)');
  }
  const profileRequestsN = Number(values['profile-requests']);
  if (!Number.isInteger(profileRequestsN) || profileRequestsN < 0) throw new Error(`--profile-requests ${values['profile-requests']}: a whole number >= 0`);
  for (const dir of values.compare!) {
    if (!existsSync(path.join(dir, 'model.json'))) throw new Error(`--compare ${dir}: no model.json there (a model folder: model.json + its ONNX file)`);
  }
  const seconds = Number(values.seconds);
  const config = loadConfig();
  const refCommit = values['no-reference'] ? null : values.reference!;
  const refRoot = refCommit ? referenceBuild(refCommit) : null;
  const current = await serve(PROJECT_ROOT);
  const reference = refRoot ? await serve(refRoot) : undefined;
  const pairs: Pair[] = [];
  try {
    const pics = await pictures();
    for (const kind of ['3x3', '4x4', '1x1']) {
      const { image, question } = pics[kind]!;
      await warm(current, kind, image, question);
      if (reference) await warm(reference, kind, image, question);
      // 1 and 16 clients as fast as answers come; then 16 independent clients offering the target's
      // 150 req/s (3x3, 4x4) and more, to show where the queue starts to build
      const rates = kind === '1x1' ? [] : kind === '3x3' ? [150, 200] : [150];
      for (const [clients, rate] of [[1, 0], [16, 0], ...rates.map((r) => [16, r])] as [number, number][]) {
        const r = await row(current, kind, image, question, clients, rate, seconds);
        const ref = reference ? await row(reference, kind, image, question, clients, rate, seconds) : undefined;
        console.error(`${kind} x${clients}${rate ? ` at ${rate} req/s` : ''}: p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.rps.toFixed(0)} req/s, server CPU ${r.serverCpuMs.toFixed(1)} ms/request` +
          (ref ? `; ${refCommit}: p50 ${ref.p50} ms, p99 ${ref.p99} ms, ${ref.rps.toFixed(0)} req/s` : ''));
        pairs.push({ row: r, ref });
      }
    }
  } finally {
    await current.server.stop();
    await reference?.server.stop();
  }
  const models: ModelRow[] = [];
  const dirs: [string, string][] = [['tile model', resolveFromRoot(config.modelDir)]];
  if (config.modelDir4x4) dirs.push(['4x4 model', resolveFromRoot(config.modelDir4x4)]);
  for (const dir of values.compare!) dirs.push(['compared', path.resolve(dir)]);
  if (refRoot) dirs.push([`tile model of ${refCommit}`, path.join(refRoot, 'models', 'gridlens-tiles')], [`4x4 model of ${refCommit}`, path.join(refRoot, 'models', 'gridlens-grid4')]);
  for (const [role, dir] of dirs) {
    if (!existsSync(path.join(dir, 'model.json'))) continue;
    const speed = await measure(dir, 100, 1);
    console.error(`${role}: ${speed.model}: ${speed.ms.toFixed(2)} ms, ${speed.perSecond.toFixed(0)}/s on 2 workers`);
    const shown = refRoot && dir.startsWith(refRoot) ? `${refCommit}:${path.relative(refRoot, dir)}` : path.relative(PROJECT_ROOT, dir) || dir;
    models.push({ role, dir: shown, speed, accuracy: accuracy(dir) });
  }
  const profiles: string[][] = [];
  for (const kind of profileRequestsN ? ['3x3', '4x4'] : []) {
    console.error(`profiling ${profileRequestsN} ${kind} requests`);
    // a failed profile must not throw away the rows measured above
    profiles.push(await profileRequests(kind, profileRequestsN, 6).catch((err: Error) => [`${kind}: the profile failed: ${err.message}`]));
  }
  writeFileSync(path.resolve(PROJECT_ROOT, values.out!), render(pairs, models, seconds, refCommit && refRoot ? refCommit : null, profiles));
  console.error(`wrote ${values.out}`);
}

function render(pairs: Pair[], models: ModelRow[], seconds: number, ref: string | null, profiles: string[][]): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const x = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}x` : '–');
  const pace = (r: Row) => (r.rate ? `${r.rate} req/s${r.rps < 0.95 * r.rate ? ' (not kept up: latency hides the backlog)' : ''}` : 'closed loop');
  const names = models.filter((m) => !m.role.includes(' of ')).map((m) => `${m.speed.model} (${m.role})`).join(', ');
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench -- --seconds ${seconds}\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores (${cpu}), Node ${process.version}, ${names}, ${loadConfig().inferenceWorkers} inference workers x ${loadConfig().inferenceThreads} thread.`,
    ref
      ? `Every row ran twice, back to back: on this build and on the build of commit ${ref} (the from-scratch models), started beside it from a copy of that commit; "x ${ref}" is this build's figure over the reference's, so the machine's day-to-day drift cancels.`
      : 'No reference build was measured (`--no-reference`, or the reference commit is not in this clone), so the figures are absolute only.',
    'The servers run as their own processes; the same real picture from ../shared/data is sent over and over for each row.',
    '',
    '## createTask over HTTP',
    '',
    `| kind | clients | pace | p50 ms | p90 ms | p99 ms | req/s | errors | non-2xx | server CPU ms/request | slowest /health, ms |${ref ? ` ${ref} p50 ms | ${ref} p99 ms | ${ref} req/s | p50 x ${ref} | req/s x ${ref} |` : ''}`,
    `|---|---|---|---|---|---|---|---|---|---|---|${ref ? '---|---|---|---|---|' : ''}`,
    ...pairs.map(({ row: r, ref: b }) => `| ${r.kind} | ${r.clients} | ${pace(r)} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.rps.toFixed(0)} | ${r.errors} | ${r.non2xx} | ${r.serverCpuMs.toFixed(1)} | ${r.healthMaxMs.toFixed(1)} |` +
      (ref ? (b ? ` ${b.p50} | ${b.p99} | ${b.rps.toFixed(0)} | ${x(r.p50, b.p50)} | ${x(r.rps, b.rps)} |` : ' – | – | – | – | – |') : '')),
    '',
    `Targets (issue 17): 3x3 p50 at most 1.25x and 4x4 at most 1.5x the reference's with 1 client; 16 clients in a closed loop at least 0.8x its req/s; 16 clients offering 150 req/s: p99 <= 60 ms.`,
    '"closed loop" (autocannon): each client sends its next request as soon as the last is answered, so the server is saturated and latency is mostly queueing (16 in flight / throughput).',
    '"N req/s" (bench/open-loop.ts): 16 independent clients, each with one keep-alive connection and at most one request in flight, sending at Poisson-distributed times that add up to N requests/s, the load the target names; latency counts from when a request was due, so a client held up by a slow answer is charged for the wait. (autocannon\'s `overallRate` is not used for this: it sends each second\'s quota back to back at the start of the second.)',
    '"server CPU": user + system CPU of the whole server process (event loop, inference workers, libuv and libvips threads) over the row, per request; the load generator runs on the same 2 cores.',
    'The "slowest /health" column is a GET /health sent every 50 ms beside the load: inference runs in worker threads, so it shows how long decoding and request handling on the event loop ever held other I/O up.',
    '',
    '## Models alone',
    '',
    'bench/model-speed.ts in the same run: one batch of nine (one picture for a 4x4 picture model) on one worker with one thread, median of 100; then tiles (pictures) per second on two workers with batches of nine. Accuracy as each model.json records it (its validation split; the model cards have the rest).',
    '',
    '| model | folder | input | batch of nine (or one picture), ms | per second on 2 workers | accuracy (model.json) |',
    '|---|---|---|---|---|---|',
    ...models.map((m) => `| ${m.speed.model} (${m.role}) | ${m.dir} | ${m.speed.size} px ${m.speed.unit} | ${m.speed.ms.toFixed(2)} | ${m.speed.perSecond.toFixed(0)} ${m.speed.unit === 'picture' ? 'pictures' : 'tiles'} | ${m.accuracy} |`),
    '',
    'Target (issue 17): >= 1,500 tiles/s on two workers (batches of nine).',
    '',
    ...(profiles.length ? [
      '## Where a request\'s CPU goes',
      '',
      'bench/profile.ts in the same run (`node dist/bench/profile.js --kind 3x3`): the current build started with `node --cpu-prof`, one client sending createTask calls one after another (20 warm-up calls and start-up left out); self time per request on each thread, grouped by part of the request path, then the heaviest functions. The event loop and the inference worker run one after the other for a request, so one client\'s latency is roughly their sum plus the HTTP round trip.',
      '',
      ...profiles.flatMap((p) => ['```', ...p, '```', '']),
    ] : []),
  ];
  return lines.join('\n');
}
main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});

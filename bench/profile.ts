/**
 * `node dist/bench/profile.js [--kind 3x3|4x4|1x1] [--requests N] [--top K]`: where a createTask's CPU
 * goes. Starts `node --cpu-prof dist/src/server.js` on a fresh SQLite file, sends N createTask
 * requests of one real picture from ../shared/data one after another (one client; 20 more before them
 * warm up and are not counted, nor is start-up), stops the server,
 * and prints, per thread (the event loop, then each inference worker), the functions with the most
 * self time per request, grouped as the request path reads them (HTTP and JSON, image decode,
 * resampling, inference, accounts and results, logging, GC). Measure on a quiet machine: on shared
 * cores the sampling profiler charges a stolen time slice to whatever was running.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../src/config.js';
import { openSqliteStore } from '../src/accounts/sqlite-store.js';
import { readTar } from '../src/eval/tar.js';

const DATA = path.join(PROJECT_ROOT, '..', 'shared', 'data');
const HELP = `usage: node dist/bench/profile.js [--kind 3x3|4x4|1x1] [--requests 300] [--top 12]
  profiles the service (node --cpu-prof) while one client sends --requests createTask calls of one real
  picture of --kind from ../shared/data, then prints each thread's heaviest functions, in ms per request`;

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number }

/** Which part of the request path a function belongs to, from its name and file. */
function part(fn: string, url: string): string {
  const file = url.split('/').pop() ?? '';
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (/onnxruntime|backend|inference-session|worker\.js$/.test(url) || fn === 'run' || fn === 'Tensor') return 'inference (onnxruntime)';
  if (file === 'sample-tiles.js') return 'resampling (sampleTiles)';
  if (/sharp|decode\.js|detect-grid/.test(url)) return 'image decode (sharp)';
  if (/sqlite|store|results|ledger|redis|postgres/.test(url)) return 'accounts and results';
  if (/pino|thread-stream|sonic-boom/.test(url)) return 'logging';
  if (/fastify|find-my-way|light-my-request|content-type|secure-json|avvio|http|net|stream|undici/.test(url) || /JSON|parse|stringify/.test(fn)) return 'HTTP and JSON';
  if (fn === 'postMessage' || /worker_threads|messageport/.test(url)) return 'messages to the workers';
  if (url === '' || /^node:/.test(url)) return `node internals`;
  return 'other JavaScript';
}

/** window: the measured requests' span in µs of the monotonic clock V8's profiler also uses (start-up and warm-up left out). */
function summarise(file: string, requests: number, top: number, window: [number, number]): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = prof.startTime;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    at += dt;
    if (at >= window[0] && at <= window[1]) self.set(id, (self.get(id) ?? 0) + dt);
  });
  if (self.size === 0) return ['  idle during the measured requests'];
  const fns = new Map<string, number>();
  const parts = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    const where = `${name} ${url.split('/').pop() || '(native)'}:${lineNumber + 1}`;
    const p = part(name, url);
    if (p !== 'idle') busy += us;
    fns.set(where, (fns.get(where) ?? 0) + us);
    parts.set(p, (parts.get(p) ?? 0) + us);
  }
  const ms = (us: number) => (us / 1000 / requests).toFixed(2).padStart(7);
  if (busy < 1000) return ['  idle during the measured requests'];
  const lines = [`  busy ${ms(busy)} ms per request`];
  for (const [p, us] of [...parts].filter(([p]) => p !== 'idle').sort((a, b) => b[1] - a[1])) lines.push(`    ${ms(us)}  ${p}`);
  lines.push('  heaviest functions (self time):');
  for (const [f, us] of [...fns].filter(([f]) => !f.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${ms(us)}  ${f}`);
  return lines;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Profile `requests` createTask calls of one picture of `kind` on this build; the report's lines (progress on stderr). */
export async function profileRequests(kind: string, requests: number, top: number): Promise<string[]> {
  const first = (tar: string) => { for (const e of readTar(tar)) return e.data; throw new Error(`empty ${tar}`); };
  const sharp = (await import('sharp')).default;
  const image = kind === '3x3' ? first(path.join(DATA, 'grid3-v1', 'grid3-000.tar'))
    : kind === '4x4' ? first(path.join(DATA, 'grid4-v1', 'grid4-train.tar'))
      : await sharp(first(path.join(DATA, 'tiles-v1', 'train-bus-000.tar'))).resize(100, 100).jpeg({ quality: 90 }).toBuffer();
  const question = { '3x3': '/m/015qff', '4x4': '/m/0199g', '1x1': '/m/01bjv' }[kind]!;

  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-profile-'));
  const dbPath = path.join(dir, 'profile.sqlite');
  const store = openSqliteStore(dbPath);
  const { clientKey } = await store.createAccount(1_000_000_000);
  await store.close();
  const port = await freePort();
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, path.join('dist', 'src', 'server.js')], {
    cwd: PROJECT_ROOT, env: { ...process.env, LOG_LEVEL: 'warn', DB_PATH: dbPath, RATE_LIMIT_RPS: '0', MAX_TASKS_IN_FLIGHT: '0', PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const times: number[] = [];
  let from = 0;
  let to = 0;
  try {
    for (let i = 0; ; i++) {
      if (i === 150 || child.exitCode !== null) throw new Error(`the server did not start within 15 s (exit code ${child.exitCode})`);
      if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const body = JSON.stringify({ clientKey, task: { type: 'ReCaptchaV2Classification', image: image.toString('base64'), question } });
    const send = async () => {
      const reply = (await (await fetch(`${url}/createTask`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).json()) as { errorId: number; errorCode?: string; errorDescription?: string };
      if (reply.errorId) throw new Error(`createTask answered ${reply.errorCode}: ${reply.errorDescription}`);
    };
    for (let i = 0; i < 20; i++) await send(); // warm-up: the first runs of a session are slow
    from = Number(process.hrtime.bigint() / 1000n);
    for (let i = 0; i < requests; i++) {
      const t = performance.now();
      await send();
      times.push(performance.now() - t);
      if ((i + 1) % 100 === 0) process.stderr.write(`  ${i + 1}/${requests} requests\n`);
    }
    to = Number(process.hrtime.bigint() / 1000n);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  child.kill('SIGINT'); // --cpu-prof writes its files as the process exits
  await exited;
  times.sort((a, b) => a - b);
  const out = [`${kind}: ${requests} createTask requests, one client: p50 ${times[Math.floor(requests / 2)]!.toFixed(1)} ms, p90 ${times[Math.floor(requests * 0.9)]!.toFixed(1)} ms`];
  // one profile per thread; the event loop's is the first (thread id 0)
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => Number(a.split('.')[4]) - Number(b.split('.')[4]));
  files.forEach((f, i) => {
    const lines = summarise(path.join(dir, f), requests, top, [from, to]);
    if (i > 0 && lines.length === 1) return; // a worker of the other model, idle throughout
    out.push(i === 0 ? 'event loop:' : `inference worker thread ${i}:`, ...lines);
  });
  rmSync(dir, { recursive: true, force: true });
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kind: { type: 'string', default: '3x3' }, requests: { type: 'string', default: '300' }, top: { type: 'string', default: '12' }, help: { type: 'boolean' } } });
  if (values.help) return void console.log(HELP);
  const kind = values.kind!;
  const requests = Number(values.requests);
  const top = Number(values.top);
  if (!['3x3', '4x4', '1x1'].includes(kind)) throw new Error(`--kind ${kind}: allowed 3x3, 4x4, 1x1`);
  if (!Number.isInteger(requests) || requests < 1) throw new Error(`--requests ${values.requests}: a whole number >= 1`);
  if (!Number.isInteger(top) || top < 1) throw new Error(`--top ${values.top}: a whole number >= 1`);
  for (const line of await profileRequests(kind, requests, top)) console.log(line);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`profile: ${(err as Error).message}`);
    process.exit(1);
  });
}

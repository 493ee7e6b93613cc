/**
 * Issue 19, case 5: the running server makes no outbound connection and no DNS look-up (before
 * ORT_DISABLE_TELEMETRY, onnxruntime looked up mobile.events.data.microsoft.com within a second of
 * loading a session). Runs the server under strace, which records every connect/send and makes each
 * connect fail, so even a regression sends nothing out; skipped, with the reason, where strace is
 * missing or not permitted (no ptrace).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from '../config.js';
import { openSqliteStore } from '../accounts/sqlite-store.js';
import { FIXTURE_MODEL } from '../testing/service.js';
import { RED, gridPicture } from '../testing/pictures.js';
import { outbound } from '../testing/outbound.js';

function straceUnusable(): string | undefined {
  const probe = spawnSync('strace', ['-f', '-qq', '-e', 'trace=connect', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (probe.error) return `strace is not installed (${(probe.error as NodeJS.ErrnoException).code}); apt-get install strace to run this test`;
  if (probe.status !== 0) return `strace cannot trace here (exit ${probe.status}: ${probe.stderr.trim().slice(0, 120)}), probably no ptrace permission`;
  return undefined;
}

const reason = straceUnusable();

/** The environment as a user would have it: without ORT_DISABLE_TELEMETRY (even set empty, onnxruntime reads it as off). */
function withoutTelemetrySetting(): NodeJS.ProcessEnv {
  const { ORT_DISABLE_TELEMETRY: _, ...env } = process.env;
  return env;
}

it('the server under load makes no outbound connection or DNS look-up', { skip: reason, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-nonet-'));
  let child: ChildProcess | undefined;
  try {
    const dbPath = path.join(dir, 'db.sqlite');
    const store = openSqliteStore(dbPath);
    const { clientKey } = await store.createAccount(100);
    await store.close();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const traceFile = path.join(dir, 'trace');
    child = spawn('strace', ['-f', '-qq', '-e', 'trace=connect,sendto,sendmsg,sendmmsg', '-e', 'inject=connect:error=ENETUNREACH', '-o', traceFile,
      process.execPath, path.join(PROJECT_ROOT, 'dist', 'src', 'server.js')], {
      env: { ...withoutTelemetrySetting(), PORT: String(port), HOST: '127.0.0.1', MODEL_DIR: FIXTURE_MODEL, MODEL_DIR_4X4: '', INFERENCE_WORKERS: '2', DB_PATH: dbPath, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    const traced = child;
    const exited = new Promise((r) => traced.once('exit', r));
    const url = `http://127.0.0.1:${port}`;
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = await fetch(`${url}/health`).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(up, 'server came up under strace');
    const image = (await gridPicture([RED], 100)).toString('base64');
    for (let i = 0; i < 5; i++) {
      const r = await (await fetch(`${url}/createTask`, { method: 'POST', body: JSON.stringify({ clientKey, task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' } }) })).json() as { errorId: number };
      assert.equal(r.errorId, 0);
    }
    // onnxruntime's telemetry looked up its host about 10 s after the sessions loaded: wait past that
    await new Promise((r) => setTimeout(r, 13_000));
    // strace does not pass SIGTERM on: signal the server itself, then strace ends with it
    const server = Number(spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
    assert.ok(server > 0, 'found the traced server');
    process.kill(server, 'SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
    if (!stopped) {
      process.kill(server, 'SIGKILL');
      child.kill('SIGKILL');
    }
    assert.ok(stopped, 'the server exited on SIGTERM');
    const found = outbound(readFileSync(traceFile, 'utf8'));
    assert.deepEqual(found, [], `outbound attempts:\n${found.join('\n')}`);
  } finally {
    if (child && child.exitCode === null) {
      for (const pid of spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

it('recognises a DNS look-up and an outbound connect in strace output, not loopback', () => {
  const trace = [
    '1 connect(33, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = -1 ENETUNREACH',
    '1 connect(32, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT',
    '1 connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_addr=inet_pton(AF_INET6, "2603:1030::1")}, 28) = -1',
    '1 connect(9, {sa_family=AF_INET, sin_port=htons(5432), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
    '1 sendto(5, {nlmsg_len=20, nlmsg_type=RTM_GETADDR}, 20, 0, {sa_family=AF_NETLINK}, 12) = 20',
  ].join('\n');
  assert.equal(outbound(trace).length, 3);
});

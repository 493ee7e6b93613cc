/**
 * Start-up and configuration errors as an operator meets them: the process started for real, one
 * line on stderr naming the setting, the value and what is allowed, exit code 2, no stack trace.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { runUntilExit, type Exited } from './testing/node-process.js';
import { FIXTURE_MODEL } from './testing/service.js';

const base = { MODEL_DIR: FIXTURE_MODEL, MODEL_DIR_4X4: '', DB_PATH: ':memory:', HOST: '127.0.0.1', INFERENCE_WORKERS: '1', DATABASE_URL: '', REDIS_URL: '' };

function oneLine(r: Exited, says: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, no stack trace:\n${r.stderr}`);
  assert.match(lines[0]!, says);
}

describe('start-up errors', () => {
  it('PORT=99999 names the setting, the value and the range', async () => {
    oneLine(await runUntilExit({ ...base, PORT: '99999' }), /^gridlens: PORT \(port\) must be an integer from 0 to 65535, got "99999"$/);
  });

  it('LOG_LEVEL=verbose lists the levels', async () => {
    oneLine(await runUntilExit({ ...base, PORT: '0', LOG_LEVEL: 'verbose' }), /^gridlens: LOG_LEVEL \(logLevel\) must be one of fatal, error, warn, info, debug, trace, silent; got "verbose"$/);
  });

  it('TASK_TTL_SECONDS=60 gives the minimum (getTaskResult must work for 5 minutes)', async () => {
    oneLine(await runUntilExit({ ...base, PORT: '0', TASK_TTL_SECONDS: '60' }), /^gridlens: TASK_TTL_SECONDS \(taskTtlSeconds\) must be an integer >= 300, got "60"$/);
  });

  it('a port in use names PORT and HOST and what to do', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const { port } = holder.address() as net.AddressInfo;
    try {
      oneLine(await runUntilExit({ ...base, PORT: String(port) }), new RegExp(`^gridlens: PORT ${port} on HOST 127\\.0\\.0\\.1 is already in use \\(EADDRINUSE\\): set PORT to a free port`));
    } finally {
      holder.close();
    }
  });

  it('a MODEL_DIR without a model names the setting and what it must hold', async () => {
    oneLine(await runUntilExit({ ...base, PORT: '0', MODEL_DIR: '/nonexistent-model' }), /^gridlens: MODEL_DIR "\/nonexistent-model": cannot read .*; it must be a model folder with model\.json and model\.onnx/);
  });

  it('gridlens serve says the same, with the same exit code', async () => {
    oneLine(await runUntilExit({ ...base, PORT: '0' }, ['src', 'cli', 'main.js'], ['serve', '--port', '99999']), /^gridlens: PORT \(port\) must be an integer from 0 to 65535, got "99999"$/);
    oneLine(await runUntilExit({ ...base, PORT: '0', LOG_LEVEL: 'verbose' }, ['src', 'cli', 'main.js'], ['serve']), /^gridlens: LOG_LEVEL/);
  });
});

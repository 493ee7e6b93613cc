/** Issue 19, case 2: SIGTERM/SIGINT stop the process within SHUTDOWN_TIMEOUT_MS with stalled clients connected, after tasks in flight finish. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURE_MODEL, testService } from '../testing/service.js';
import { startNode } from '../testing/node-process.js';
import { RED, gridPicture } from '../testing/pictures.js';

const STALL = 'POST /createTask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"clientKey":';

function stalled(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.write(STALL); resolve(s); });
    s.on('error', () => undefined);
  })));
}

describe('bounded shutdown', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-shutdown-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} with 20 stalled uploads: exits 0 within SHUTDOWN_TIMEOUT_MS (the request timeout is 30 s)`, { timeout: 20_000 }, async () => {
      const node = await startNode({ MODEL_DIR: FIXTURE_MODEL, MODEL_DIR_4X4: '', INFERENCE_WORKERS: '1', DB_PATH: path.join(dir, `${sig}.sqlite`), SHUTDOWN_TIMEOUT_MS: '3000' });
      const sockets = await stalled(Number(new URL(node.url).port), 20);
      await new Promise((r) => setTimeout(r, 200));
      const { code, ms } = await node.signal(sig);
      for (const s of sockets) s.destroy();
      assert.equal(code, 0);
      assert.ok(ms < 3000, `exited after ${ms} ms`);
    });
  }

  it('a task in flight is answered; stalled sockets are dropped; a late request on an open connection gets the envelope', async () => {
    const svc = await testService();
    const { clientKey } = await svc.accounts.createAccount(100);
    await svc.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = svc.app.server.address() as net.AddressInfo;
    const sockets = await stalled(port, 5);
    const solve = svc.tasks.createTask.bind(svc.tasks);
    svc.tasks.createTask = async (b) => { await new Promise((r) => setTimeout(r, 500)); return solve(b); };
    const image = (await gridPicture([RED], 100)).toString('base64');
    const task = fetch(`http://127.0.0.1:${port}/createTask`, { method: 'POST', body: JSON.stringify({ clientKey, task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' } }) });
    await new Promise((r) => setTimeout(r, 100));
    const closedSockets = Promise.all(sockets.map((s) => new Promise((r) => s.once('close', r))));
    const t = Date.now();
    const clean = await svc.shutdown(2000);
    assert.equal(clean, true);
    assert.ok(Date.now() - t < 2000);
    const answer = await (await task).json() as { errorId: number; solution: unknown };
    assert.equal(answer.errorId, 0, 'the task in flight finished');
    await closedSockets;
  });

  it('requests arriving while closing get ERROR_SERVICE_UNAVALIABLE in the envelope, not Fastify 503', async () => {
    const svc = await testService();
    svc.inFlight.closing = true;
    const r = await svc.app.inject({ method: 'POST', url: '/getBalance', payload: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().errorCode, 'ERROR_SERVICE_UNAVALIABLE');
    assert.equal(r.headers.connection, 'close');
    await svc.close();
  });
});

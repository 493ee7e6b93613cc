import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { openLoop, quantile } from './open-loop.js';

it('quantile: nearest rank', () => {
  const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantile(v, 0.5), 5);
  assert.equal(quantile(v, 0.99), 10);
  assert.equal(quantile(v, 0), 1);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

it('openLoop offers the rate, one request in flight per client, and counts a slow answer from its due time', async () => {
  let inFlight = 0;
  let most = 0;
  let slow = true;
  const server = http.createServer((req, res) => {
    req.resume();
    inFlight++;
    most = Math.max(most, inFlight);
    // the first answer takes 300 ms: requests due meanwhile on that client are late and must say so
    const delay = slow ? 300 : 2;
    slow = false;
    setTimeout(() => {
      inFlight--;
      res.writeHead(req.url === '/fail' ? 500 : 200).end('{}');
    }, delay);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const r = await openLoop(`http://127.0.0.1:${port}/createTask`, '{}', 4, 100, 2);
    assert.equal(r.errors, 0);
    assert.equal(r.non2xx, 0);
    assert.ok(r.latencies.length > 140 && r.latencies.length < 260, `about 200 requests in 2 s, got ${r.latencies.length}`);
    assert.ok(most <= 4, `at most one request in flight per client, saw ${most}`);
    assert.ok(r.latencies.at(-1)! >= 300, 'the slow first answer is in the figures');
    assert.ok(quantile(r.latencies, 0.5) < 50, 'the rest answer quickly');
    const failing = await openLoop(`http://127.0.0.1:${port}/fail`, '{}', 2, 20, 1);
    assert.equal(failing.non2xx, failing.latencies.length);
    assert.ok(failing.non2xx > 0);
  } finally {
    server.close();
  }
});

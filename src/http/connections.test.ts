/** Issue 19, cases 1 and 10: stalled clients are closed in time, one over MAX_CONNECTIONS is refused with the envelope. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../app.js';
import { bodyOf, rawExchange } from '../testing/raw-http.js';
import { testService } from '../testing/service.js';

describe('stalled requests', () => {
  let svc: Service;
  let port: number;
  before(async () => {
    svc = await testService({ headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 500 });
    await svc.app.listen({ port: 0, host: '127.0.0.1' });
    port = (svc.app.server.address() as net.AddressInfo).port;
  });
  after(() => svc.close());

  it('headers, then no body: answered 408 with the envelope and closed within the request timeout', async () => {
    const { reply, closedAfterMs } = await rawExchange(port, 'POST /getBalance HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
    assert.ok(closedAfterMs !== undefined && closedAfterMs < 3000, `closed after ${closedAfterMs} ms`);
    assert.match(reply, /^HTTP\/1\.1 408/);
    assert.equal(bodyOf(reply).errorCode, 'ERROR_REQUIRED_FIELDS');
    assert.match(String(bodyOf(reply).errorDescription), /REQUEST_TIMEOUT_MS/);
    await new Promise((r) => setTimeout(r, 100));
    const metrics = (await svc.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /gridlens_http_client_errors_total\{reason="ERR_HTTP_REQUEST_TIMEOUT"\} 1/);
    assert.doesNotMatch(metrics, /reason="client_aborted"/, metrics.split('\n').filter((l) => /client_errors_total\{/.test(l)).join('; '));
  });

  it('half the headers, then nothing: closed within the headers timeout', async () => {
    const { closedAfterMs } = await rawExchange(port, 'POST /getBalance HTTP/1.1\r\nHost: x\r\n');
    assert.ok(closedAfterMs !== undefined && closedAfterMs < 3000, `closed after ${closedAfterMs} ms`);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const { reply, closedAfterMs } = await rawExchange(port, 'POST /getBalance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    assert.match(reply, /ERROR_KEY_DOES_NOT_EXIST/);
    assert.ok(closedAfterMs !== undefined && closedAfterMs < 3000, `closed after ${closedAfterMs} ms`);
  });
});

describe('MAX_CONNECTIONS', () => {
  it('the connection over the cap gets ERROR_NO_SLOT_AVAILABLE and is closed; the others still work', async () => {
    const svc = await testService({ maxConnections: 2 });
    try {
      await svc.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = svc.app.server.address() as net.AddressInfo;
      const held = await Promise.all([0, 1].map(() => new Promise<net.Socket>((r) => { const s = net.connect(port, '127.0.0.1', () => r(s)); })));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(svc.connections.open, 2);
      const { reply, closedAfterMs } = await rawExchange(port, 'POST /getBalance HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
      assert.ok(closedAfterMs !== undefined, 'closed');
      assert.equal(bodyOf(reply).errorCode, 'ERROR_NO_SLOT_AVAILABLE');
      assert.match(String(bodyOf(reply).errorDescription), /MAX_CONNECTIONS/);
      assert.equal(svc.connections.refused, 1);
      const metrics = await svc.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /gridlens_http_client_errors_total\{reason="max_connections"\} 1/);
      held[0]!.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const ok = await rawExchange(port, 'POST /getBalance HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}');
      assert.equal(bodyOf(ok.reply).errorCode, 'ERROR_KEY_DOES_NOT_EXIST', 'a slot freed is usable again');
      held[1]!.destroy();
    } finally {
      await svc.close();
    }
  });
});

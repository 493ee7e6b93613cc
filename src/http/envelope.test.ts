/**
 * Issue 19, cases 6, 7 and 10: the protocol's envelope at every layer (malformed HTTP, oversized
 * headers, bad URLs, unknown paths), deep nesting refused as a field error, a client abort logged
 * at info without a stack and counted apart, one endpoint label per endpoint.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../app.js';
import { post, testService } from '../testing/service.js';
import { bodyOf, rawExchange } from '../testing/raw-http.js';

let svc: Service;
let port: number;
const logs: string[] = [];
before(async () => {
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) => logs.push(...d.toString('utf8').split('\n').filter(Boolean)));
  svc = await testService({ logLevel: 'info' }, stream);
  await svc.app.listen({ port: 0, host: '127.0.0.1' });
  port = (svc.app.server.address() as net.AddressInfo).port;
});
after(() => svc.close());

const metrics = async () => (await svc.app.inject({ method: 'GET', url: '/metrics' })).body;

describe('HTTP-level errors answer the envelope', () => {
  const H = 'Host: x\r\nContent-Type: application/json\r\n';
  const cases: [string, string | Buffer, number][] = [
    ['a bad chunk size', `POST /getBalance HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, 400],
    ['Transfer-Encoding with Content-Length', `POST /getBalance HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 400],
    ['a duplicate Content-Length', `POST /getBalance HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, 400],
    ['a negative Content-Length', `POST /getBalance HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n{}`, 400],
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
    ['32 KB of headers', `POST /getBalance HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(32 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`, 431],
    ['a 20 KB URL', `POST /getBalance?${'a'.repeat(20 * 1024)} HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n{}`, 431],
    ['an over-long path parameter', `GET /samples/${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 414],
    ['a malformed URL', `GET /samples/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 400],
    ['an unknown path', `POST /createTaskz HTTP/1.1\r\n${H}Connection: close\r\nContent-Length: 2\r\n\r\n{}`, 404],
  ];
  for (const [what, request, status] of cases) {
    it(`${what}: ${status} with {errorId: 1, errorCode, errorDescription}`, async () => {
      const { reply } = await rawExchange(port, request);
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), reply.slice(0, 200));
      const body = bodyOf(reply);
      assert.deepEqual(Object.keys(body).sort(), ['errorCode', 'errorDescription', 'errorId']);
      assert.equal(body.errorId, 1);
      // a path that is not an endpoint is ERROR_NO_SUCH_METHOD (Anti-Captcha's code); the rest are field errors
      assert.equal(body.errorCode, status === 404 ? 'ERROR_NO_SUCH_METHOD' : 'ERROR_REQUIRED_FIELDS');
    });
  }
});

describe('deep nesting', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  for (const field of ['grid', 'confidence', 'scores']) {
    it(`task.${field} nested 5,000 arrays deep: a field error naming it, nothing logged as an error`, async () => {
      const { clientKey } = await svc.accounts.createAccount(100);
      const body = `{"clientKey": "${clientKey}", "task": {"type": "ReCaptchaV2Classification", "image": "AAAA", "question": "/m/0k4j", "${field}": ${deep(5000)}}}`;
      const r = await post(svc, '/createTask', body);
      assert.equal(r.errorCode, 'ERROR_REQUIRED_FIELDS');
      assert.match(r.errorDescription, new RegExp(`task\\.${field} is nested more than 32 levels`));
      assert.ok(!logs.some((l) => /"level":50/.test(l)), 'no error-level log line');
    });
  }
  it('ordinary bodies still pass (a 3-level task)', async () => {
    const r = await post(svc, '/createTask', { clientKey: 'nope', task: { a: [[{ b: 1 }]] } });
    assert.equal(r.errorCode, 'ERROR_KEY_DOES_NOT_EXIST');
  });
});

describe('client aborts and endpoint labels', () => {
  it('a client that aborts mid-body is logged at info without a stack and counted as client_aborted', async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('POST /createTask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"clientKey":');
        setTimeout(() => { s.destroy(); resolve(); }, 100);
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    const m = await metrics();
    assert.match(m, /gridlens_http_client_errors_total\{reason="client_aborted"\} 1/);
    assert.doesNotMatch(m, /error_code="ERROR_INTERNAL_SERVER_ERROR"/);
    const line = logs.find((l) => /aborted/.test(l));
    assert.ok(line, 'logged');
    assert.match(line!, /"level":30/);
    assert.doesNotMatch(line!, /stack/);
  });

  it('a client that resets mid-body: counted as client_aborted too, never as an internal error', async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('POST /getBalance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"clientKey":');
        setTimeout(() => { s.resetAndDestroy(); resolve(); }, 100);
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    const m = await metrics();
    assert.match(m, /gridlens_http_client_errors_total\{reason="client_aborted"\} 2/);
    assert.doesNotMatch(m, /error_code="ERROR_INTERNAL_SERVER_ERROR"/);
    assert.ok(!logs.some((l) => /"level":50/.test(l)));
  });

  it('parser errors and route errors share one label per endpoint', async () => {
    await post(svc, '/createTask', '{"broken');
    await post(svc, '/createTask', { clientKey: 'nope' });
    const m = await metrics();
    assert.match(m, /endpoint="createTask",error_code="ERROR_REQUIRED_FIELDS"/);
    assert.match(m, /endpoint="createTask",error_code="ERROR_KEY_DOES_NOT_EXIST"/);
    assert.doesNotMatch(m, /endpoint="\/createTask"/);
  });
});

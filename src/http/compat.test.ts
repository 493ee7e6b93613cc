/**
 * Clients of the vendor family against a real listening socket: the request bodies as the
 * vendors' SDKs shape them (key sets from shared/docs/protocol.md: appId, softId/softID in or
 * beside task, callbackUrl: null, websiteURL/websiteKey, marker keys), and our own client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../app.js';
import { GridlensClient, GridlensError } from '../client/index.js';
import { BLUE, RED, cellsWith, gridPicture } from '../testing/pictures.js';
import { testService } from '../testing/service.js';

let svc: Service;
let base: string;
let key: string;
let img3: string;

before(async () => {
  svc = await testService();
  base = await svc.app.listen({ port: 0, host: '127.0.0.1' });
  ({ clientKey: key } = await svc.accounts.createAccount(1000));
  img3 = (await gridPicture(cellsWith(9, RED, [0, 4, 8]), 300, 'jpeg')).toString('base64');
});
after(() => svc.close());

async function raw(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('vendor SDK request shapes', () => {
  it('Python SDK shape: appId at the top level, then polling getTaskResult', async () => {
    const created = await raw('/createTask', JSON.stringify({ clientKey: key, appId: '', task: { type: 'ReCaptchaV2Classification', image: img3, question: '/m/0k4j' } }));
    assert.equal(created.status, 200);
    assert.equal(created.json.errorId, 0);
    const polled = await raw('/getTaskResult', JSON.stringify({ clientKey: key, taskId: created.json.taskId }));
    assert.deepEqual(polled.json.solution, { type: 'multi', objects: [0, 4, 8] });
    assert.equal(polled.json.status, 'ready');
  });

  it('Go SDK shape: softId beside task, callbackUrl null, empty websiteURL/websiteKey, confidence as a string', async () => {
    const body = `{"clientKey":"${key}","softId":"1","callbackUrl":null,"task":{"type":"ReCaptchaV2Classification","websiteURL":"","websiteKey":"","image":"${img3}","question":"/m/0k4j","confidence":"0.9","softID":2}}`;
    const r = await raw('/createTask', body);
    assert.deepEqual(r.json.solution, { type: 'multi', objects: [0, 4, 8] });
  });

  it('JS client shape: marker key inside task, confidence "" (absent), 1x1 tile', async () => {
    const tile = (await gridPicture([BLUE], 100)).toString('base64');
    const body = JSON.stringify({ clientKey: key, task: { _isReCaptchaV2Classification: true, type: 'ReCaptchaV2Classification', image: tile, question: '/m/01bjv', confidence: '' } });
    const r = await raw('/createTask', body);
    assert.deepEqual(r.json.solution, { type: 'single', hasObject: true });
  });

  it('getBalance answers a plain number of points', async () => {
    const r = await raw('/getBalance', JSON.stringify({ clientKey: key }));
    assert.equal(typeof r.json.balance, 'number');
    assert.equal(r.json.errorId, 0);
    assert.equal(r.json.errorCode, '');
  });
});

describe('gridlens/client', () => {
  it('solves a 3x3 and a 1x1, reads the balance, and raises typed errors', async () => {
    const client = new GridlensClient({ baseUrl: `${base}/`, clientKey: key });
    const before = await client.getBalance();
    const r = await client.solve(Buffer.from(img3, 'base64'), 'cars', { scores: true });
    assert.deepEqual((r.solution as { objects: number[] }).objects, [0, 4, 8]);
    assert.deepEqual((await client.getTaskResult(r.taskId)).solution, r.solution);
    const one = await client.solve((await gridPicture([RED], 100)).toString('base64'), '/m/0k4j');
    assert.deepEqual(one.solution, { type: 'single', hasObject: true });
    assert.equal(await client.getBalance(), before - 8);
    const bad = new GridlensClient({ baseUrl: base, clientKey: 'nope' });
    await assert.rejects(bad.getBalance(), (e: GridlensError) => e.errorCode === 'ERROR_KEY_DOES_NOT_EXIST');
    await assert.rejects(client.createTask(img3, '/m/0pg52'), (e: GridlensError) => e.errorCode === 'ERROR_CAPTCHA_UNSOLVABLE');
  });
});

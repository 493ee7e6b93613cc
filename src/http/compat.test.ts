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

describe('the official YesCaptcha Python client (yescaptcha 1.x, yescaptcha/client.py)', () => {
  // Its bodies as `requests.post(url, json=...)` sends them: json.dumps with ", " and ": " separators,
  // softId beside task when the client has one, and every call checked by errorId before its field is read.
  const PY_HEADERS = { 'content-type': 'application/json', 'user-agent': 'python-requests/2.31.0', accept: '*/*' };
  const py = (path: string, body: string) => raw(path, body, PY_HEADERS);

  it('get_soft_id(): a stable softID per key; a bad key gets the getBalance error', async () => {
    const a = await py('/getSoftID', `{"clientKey": "${key}"}`);
    assert.equal(a.status, 200);
    assert.equal(a.json.errorId, 0);
    assert.ok(Number.isSafeInteger(a.json.softID) && (a.json.softID as number) > 0, JSON.stringify(a.json));
    assert.equal((await py('/getSoftID', `{"clientKey": "${key}"}`)).json.softID, a.json.softID, 'stable');
    const { clientKey: other } = await svc.accounts.createAccount(0);
    assert.notEqual((await py('/getSoftID', `{"clientKey": "${other}"}`)).json.softID, a.json.softID, 'one per key');
    const bad = await py('/getSoftID', '{"clientKey": "0123456789abcdef0123456789abcdef"}');
    const badBalance = await py('/getBalance', '{"clientKey": "0123456789abcdef0123456789abcdef"}');
    assert.deepEqual(bad.json, badBalance.json);
    assert.equal(bad.json.errorCode, 'ERROR_KEY_DOES_NOT_EXIST');
  });

  it('create_task(ReCaptchaV2Classification) with softId from get_soft_id, then the job polls get_task_result; get_balance', async () => {
    const softID = (await py('/getSoftID', `{"clientKey": "${key}"}`)).json.softID;
    const before = (await py('/getBalance', `{"clientKey": "${key}"}`)).json.balance as number;
    const created = await py('/createTask', `{"clientKey": "${key}", "task": {"type": "ReCaptchaV2Classification", "image": "${img3}", "question": "/m/0k4j"}, "softId": ${softID}}`);
    assert.equal(created.json.errorId, 0, JSON.stringify(created.json));
    const polled = await py('/getTaskResult', `{"clientKey": "${key}", "taskId": "${created.json.taskId}"}`);
    assert.equal(polled.json.status, 'ready');
    assert.deepEqual(polled.json.solution, { type: 'multi', objects: [0, 4, 8] });
    assert.equal((await py('/getBalance', `{"clientKey": "${key}"}`)).json.balance, before - 6);
    // the same with softId as a string and without one (Client(client_key) leaves it out)
    for (const extra of [', "softId": "26299"', '']) {
      const r = await py('/createTask', `{"clientKey": "${key}", "task": {"type": "ReCaptchaV2Classification", "image": "${img3}", "question": "/m/0k4j"}${extra}}`);
      assert.deepEqual(r.json.solution, { type: 'multi', objects: [0, 4, 8] });
    }
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

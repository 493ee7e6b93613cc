/**
 * Issue 19, case 3: a 12 KB GIF that decodes to 4096x4096 costs nothing to refuse (zero balance,
 * unanswerable question: no pixel is decoded), and a key's flood of them is decoded one at a time
 * while another key's small pictures never wait.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Service } from '../app.js';
import { RED, bigGif, gridPicture } from '../testing/pictures.js';
import { post, testService } from '../testing/service.js';

let svc: Service;
let gif: string;
let decodes = 0;
before(async () => {
  svc = await testService();
  gif = (await bigGif()).toString('base64');
  // count pixel decodes through the gate's view: every large decode passes it
  const acquire = svc.tasks.decodeGate.acquire.bind(svc.tasks.decodeGate);
  svc.tasks.decodeGate.acquire = (key) => { decodes += 1; return acquire(key); };
});
after(() => svc.close());

const task = (clientKey: string, t: Record<string, unknown>) => ({ clientKey, task: { type: 'ReCaptchaV2Classification', image: gif, question: '/m/0k4j', grid: '3x3', ...t } });

it('zero balance: refused before any pixel is decoded', async () => {
  const { clientKey } = await svc.accounts.createAccount(0);
  const { clientKey: poor } = await svc.accounts.createAccount(3); // covers a 1x1, not a 3x3
  const t = performance.now();
  for (const key of [clientKey, poor]) assert.equal((await post(svc, '/createTask', task(key, {}))).errorCode, 'ERROR_ZERO_BALANCE');
  assert.equal(decodes, 0);
  assert.ok(performance.now() - t < 500, 'answered without decoding');
});

it('an unanswerable question: refused before any pixel is decoded', async () => {
  const { clientKey } = await svc.accounts.createAccount(1000);
  assert.equal((await post(svc, '/createTask', task(clientKey, { question: '/m/0pg52' }))).errorCode, 'ERROR_CAPTCHA_UNSOLVABLE');
  assert.equal((await post(svc, '/createTask', task(clientKey, { grid: '4x4', question: '/m/0cdl1' }))).errorCode, 'ERROR_UNKNOW_450x450_QUESTION');
  assert.equal(decodes, 0);
  assert.equal(await svc.accounts.balance(3), 1000);
});

it('a key\'s flood is decoded one at a time; another key\'s 1x1 does not wait for it', async () => {
  const { clientKey: flooder } = await svc.accounts.createAccount(1000);
  const { clientKey: other } = await svc.accounts.createAccount(100);
  const tile = (await gridPicture([RED], 100)).toString('base64');
  const flood = Promise.all(Array.from({ length: 4 }, () => post(svc, '/createTask', task(flooder, {}))));
  await new Promise((r) => setTimeout(r, 50));
  const t = performance.now();
  const small = await post(svc, '/createTask', { clientKey: other, task: { type: 'ReCaptchaV2Classification', image: tile, question: '/m/0k4j' } });
  const smallMs = performance.now() - t;
  assert.equal(small.errorId, 0);
  const answers = await flood;
  assert.deepEqual(answers.map((a) => a.errorId), [0, 0, 0, 0]);
  assert.equal(svc.tasks.decodeGate.peakPerKey, 1, 'one large decode at a time for the flooding key');
  assert.ok(smallMs < 700, `the other key's 1x1 took ${smallMs.toFixed(0)} ms while four 4096x4096 GIFs (about 800 ms each) were queued`);
});

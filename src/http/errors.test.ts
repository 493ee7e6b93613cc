/** Every row of the protocol's error table through HTTP; none of them charges the key. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../app.js';
import { ERROR_CODES } from '../protocol/errors.js';
import { RED, cellsWith, gridPicture, pngBomb } from '../testing/pictures.js';
import { post, testService } from '../testing/service.js';

const T = 'ReCaptchaV2Classification';
let svc: Service;
let key: string;
let img: string;
const seen = new Set<string>();

before(async () => {
  svc = await testService();
  ({ clientKey: key } = await svc.accounts.createAccount(1000));
  img = (await gridPicture(cellsWith(9, RED, [0, 1, 2]), 300)).toString('base64');
});
after(() => svc.close());

/** Post, expect HTTP 200 with the error envelope, the code, a description matching `names`, and no charge. */
async function expectError(url: string, body: unknown, code: string, names: RegExp, statusCode = 200) {
  const before = await svc.accounts.balance(1);
  const r = await post(svc, url, body);
  assert.equal(r.errorId, 1, JSON.stringify(r));
  assert.equal(r.errorCode, code, r.errorDescription);
  assert.match(r.errorDescription, names);
  assert.ok(!/\n\s+at /.test(r.errorDescription), 'no stack trace in the body');
  assert.equal(r.statusCode, statusCode);
  assert.equal(await svc.accounts.balance(1), before, 'an error never charges');
  seen.add(code);
}
const task = (t: Record<string, unknown>) => ({ clientKey: key, task: { type: T, image: img, question: '/m/0k4j', ...t } });

describe('error table', () => {
  it('ERROR_KEY_DOES_NOT_EXIST: missing, unknown, revoked key', async () => {
    await expectError('/createTask', { task: { type: T, image: img, question: '/m/0k4j' } }, 'ERROR_KEY_DOES_NOT_EXIST', /clientKey/);
    await expectError('/getBalance', { clientKey: 'nope' }, 'ERROR_KEY_DOES_NOT_EXIST', /clientKey/);
    const { clientKey: gone } = await svc.accounts.createAccount(50);
    await svc.accounts.revoke(gone);
    await expectError('/createTask', { ...task({}), clientKey: gone }, 'ERROR_KEY_DOES_NOT_EXIST', /revoked/);
  });

  it('ERROR_ZERO_BALANCE: balance below the price', async () => {
    const { clientKey: poor } = await svc.accounts.createAccount(5);
    const r = await post(svc, '/createTask', { ...task({}), clientKey: poor });
    assert.equal(r.errorCode, 'ERROR_ZERO_BALANCE');
    assert.match(r.errorDescription, /6 points/);
    assert.equal((await post(svc, '/getBalance', { clientKey: poor })).balance, 5);
    const tile = (await gridPicture([RED], 100)).toString('base64');
    assert.equal((await post(svc, '/createTask', { ...task({ image: tile }), clientKey: poor })).errorId, 0, 'a 1x1 at 2 points still fits');
    seen.add('ERROR_ZERO_BALANCE');
  });

  it('ERROR_TASK_NOT_SUPPORTED', async () => {
    await expectError('/createTask', task({ type: 'HCaptchaClassification' }), 'ERROR_TASK_NOT_SUPPORTED', /ReCaptchaV2Classification/);
  });

  it('ERROR_REQUIRED_FIELDS: missing task, image, question, type; wrong types; broken JSON', async () => {
    await expectError('/createTask', { clientKey: key }, 'ERROR_REQUIRED_FIELDS', /task/);
    await expectError('/createTask', { clientKey: key, task: { type: T, question: '/m/0k4j' } }, 'ERROR_REQUIRED_FIELDS', /task\.image/);
    await expectError('/createTask', { clientKey: key, task: { type: T, image: img } }, 'ERROR_REQUIRED_FIELDS', /task\.question/);
    await expectError('/createTask', { clientKey: key, task: { image: img, question: '/m/0k4j' } }, 'ERROR_REQUIRED_FIELDS', /task\.type/);
    await expectError('/createTask', task({ image: 12345 }), 'ERROR_REQUIRED_FIELDS', /task\.image/);
    await expectError('/createTask', task({ confidence: 'abc' }), 'ERROR_REQUIRED_FIELDS', /task\.confidence.*0\.0 to 1\.0/);
    await expectError('/createTask', task({ confidence: 1.5 }), 'ERROR_REQUIRED_FIELDS', /task\.confidence/);
    await expectError('/createTask', task({ grid: '5x5' }), 'ERROR_REQUIRED_FIELDS', /task\.grid.*"3x3"/);
    await expectError('/createTask', task({ scores: 'yes' }), 'ERROR_REQUIRED_FIELDS', /task\.scores/);
    await expectError('/createTask', '{"clientKey": "x", "task": {', 'ERROR_REQUIRED_FIELDS', /not valid JSON/);
    await expectError('/createTask', '[1,2]', 'ERROR_REQUIRED_FIELDS', /JSON object/);
    await expectError('/getTaskResult', { clientKey: key }, 'ERROR_REQUIRED_FIELDS', /taskId/);
  });

  it('ERROR_REQUIRED_FIELDS: a wrong type is not "missing": it names the field, the type sent and the type expected', async () => {
    await expectError('/createTask', task({ question: 5 }), 'ERROR_REQUIRED_FIELDS', /^task\.question has the wrong type: expected a string, got a number \(5\)/);
    await expectError('/createTask', task({ image: ['a'] }), 'ERROR_REQUIRED_FIELDS', /^task\.image has the wrong type: expected a string, got an array/);
    await expectError('/createTask', task({ type: true }), 'ERROR_REQUIRED_FIELDS', /^task\.type has the wrong type: expected a string, got a boolean/);
    await expectError('/createTask', { clientKey: key, task: 'x' }, 'ERROR_REQUIRED_FIELDS', /^task has the wrong type: expected an object, got a string/);
    await expectError('/getTaskResult', { clientKey: key, taskId: 123 }, 'ERROR_REQUIRED_FIELDS', /^taskId has the wrong type: expected a string, got a number \(123\)/);
    await expectError('/getTaskResult', { clientKey: key }, 'ERROR_REQUIRED_FIELDS', /^taskId is missing/);
    await expectError('/createTask', task({ question: undefined }), 'ERROR_REQUIRED_FIELDS', /^task\.question is missing/);
    await expectError('/getBalance', { clientKey: 42 }, 'ERROR_KEY_DOES_NOT_EXIST', /^clientKey has the wrong type: expected a string, got a number/);
  });

  it('ERROR_PARSE_IMAGE_FAIL: non-base64, bytes that are no image, a truncated image, a 50 MB body', async () => {
    await expectError('/createTask', task({ image: 'this is not base64!!' }), 'ERROR_PARSE_IMAGE_FAIL', /task\.image.*base64/);
    await expectError('/createTask', task({ image: Buffer.from('hello world, not an image').toString('base64') }), 'ERROR_PARSE_IMAGE_FAIL', /JPEG, PNG, WebP or GIF/);
    const jpeg = await gridPicture(cellsWith(9, RED, [0]), 300, 'jpeg');
    await expectError('/createTask', task({ image: jpeg.subarray(0, jpeg.length / 2).toString('base64') }), 'ERROR_PARSE_IMAGE_FAIL', /task\.image/);
    await expectError('/createTask', task({ image: 'A'.repeat(50 * 1024 * 1024) }), 'ERROR_PARSE_IMAGE_FAIL', /larger than \d+ bytes/);
  });

  it('ERROR_ILLEGAL_IMAGE: 301x300, and a PNG bomb refused before decoding', async () => {
    const odd = (await gridPicture(cellsWith(9, RED, [0]), 300).then((b) => import('sharp').then((s) => s.default(b).resize(301, 300, { fit: 'fill' }).png().toBuffer()))).toString('base64');
    await expectError('/createTask', task({ image: odd }), 'ERROR_ILLEGAL_IMAGE', /301x300.*300x300.*task\.grid/);
    await expectError('/createTask', task({ image: pngBomb().toString('base64') }), 'ERROR_ILLEGAL_IMAGE', /100000x100000/);
    await expectError('/createTask', task({ image: pngBomb().toString('base64'), grid: '3x3' }), 'ERROR_ILLEGAL_IMAGE', /100000x100000/);
  });

  it('ERROR_UNKNOWN_QUESTION: unknown ID, and a 10 kB question not echoed back', async () => {
    await expectError('/createTask', task({ question: '/m/nothing' }), 'ERROR_UNKNOWN_QUESTION', /\/m\/nothing.*\/m\/015qff/);
    await expectError('/createTask', task({ question: 'trafic lights' }), 'ERROR_UNKNOWN_QUESTION', /"trafic lights" is not a known question; did you mean "traffic lights" \(\/m\/015qff\)\?/);
    await expectError('/createTask', task({ question: '/m/015qf' }), 'ERROR_UNKNOWN_QUESTION', /did you mean "traffic lights" \(\/m\/015qff\)\?/);
    await expectError('/createTask', task({ question: 'elephants' }), 'ERROR_UNKNOWN_QUESTION', /^(?!.*did you mean)/);
    const r = await post(svc, '/createTask', task({ question: 'x'.repeat(10_240) }));
    assert.equal(r.errorCode, 'ERROR_UNKNOWN_QUESTION');
    assert.ok(r.errorDescription.length < 400);
    assert.match(r.errorDescription, /10240 characters/);
  });

  it('ERROR_UNKNOW_450x450_QUESTION: a question the 4x4 path cannot answer', async () => {
    const four = (await gridPicture(cellsWith(16, RED, [0]), 450)).toString('base64');
    await expectError('/createTask', task({ image: four, question: '/m/0cdl1' }), 'ERROR_UNKNOW_450x450_QUESTION', /\/m\/0cdl1.*answerable: \/m\/01bjv, \/m\/0k4j/);
  });

  it('ERROR_CAPTCHA_UNSOLVABLE: a question whose class the model was not trained on, naming it', async () => {
    await expectError('/createTask', task({ question: '/m/0pg52' }), 'ERROR_CAPTCHA_UNSOLVABLE', /taxis.*no trained class/);
    await expectError('/createTask', task({ question: 'school bus' }), 'ERROR_CAPTCHA_UNSOLVABLE', /school bus.*no trained class/);
  });

  it('ERROR_NO_SUCH_CAPCHA_ID: an unknown task id', async () => {
    await expectError('/getTaskResult', { clientKey: key, taskId: '3a9e8cb8-3871-11ec-9794-94e6f7355a0b' }, 'ERROR_NO_SUCH_CAPCHA_ID', /taskId/);
  });

  it('ERROR_TOO_MUCH_REQUESTS and ERROR_THREADS_MAXIMUM: per-key limits', async () => {
    const limited = await testService({ rateLimitRps: 3, maxTasksInFlight: 2 });
    try {
      const { clientKey } = await limited.accounts.createAccount(1000);
      const body = { clientKey, task: { type: T, image: img, question: '/m/0k4j' } };
      const burst = await Promise.all(Array.from({ length: 3 }, () => post(limited, '/createTask', body)));
      const codes = burst.map((r) => r.errorCode).sort();
      assert.deepEqual(codes, ['', '', 'ERROR_THREADS_MAXIMUM'], 'two in flight at once, the third refused');
      const r = await post(limited, '/createTask', body);
      assert.equal(r.errorCode, 'ERROR_TOO_MUCH_REQUESTS');
      assert.match(r.errorDescription, /3 requests per second/);
      assert.equal((await limited.accounts.balance(1)), 1000 - 12, 'only the two solved tasks were charged');
      seen.add('ERROR_TOO_MUCH_REQUESTS').add('ERROR_THREADS_MAXIMUM');
    } finally {
      await limited.close();
    }
  });

  it('ERROR_INTERNAL_SERVER_ERROR: an unexpected failure, without a stack trace, no charge', async () => {
    const broken = await testService();
    try {
      const { clientKey } = await broken.accounts.createAccount(100);
      broken.accounts.charge = async () => { throw new Error('disk on fire'); };
      const r = await post(broken, '/createTask', { clientKey, task: { type: T, image: img, question: '/m/0k4j' } });
      assert.equal(r.errorCode, 'ERROR_INTERNAL_SERVER_ERROR');
      assert.equal(r.statusCode, 200);
      assert.doesNotMatch(r.errorDescription, /disk on fire|at /);
      assert.equal(await broken.accounts.balance(1), 100);
      seen.add('ERROR_INTERNAL_SERVER_ERROR');
    } finally {
      await broken.close();
    }
  });

  it('ERROR_NO_SUCH_METHOD: an unknown path, or a GET of a POST endpoint, gets a 404 with the envelope and the list of endpoints', async () => {
    await expectError('/createTaskz', {}, 'ERROR_NO_SUCH_METHOD', /no endpoint "POST \/createTaskz"; the protocol's endpoints are POST \/createTask, \/getTaskResult, \/getBalance.*GET .*\/questions/, 404);
    const res = await svc.app.inject({ method: 'GET', url: '/getBalance?clientKey=x' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(Object.keys(res.json() as object), ['errorId', 'errorCode', 'errorDescription']);
    assert.match((res.json() as { errorDescription: string }).errorDescription, /^no endpoint "GET \/getBalance"; the protocol's endpoints are POST \/createTask/);
  });

  it('covered every code of the registry but the multi-node and capacity ones (connections.test.ts, pg-backpressure.test.ts)', () => {
    const untested = Object.keys(ERROR_CODES).filter((c) => !seen.has(c));
    assert.deepEqual(untested, ['ERROR_NO_SLOT_AVAILABLE', 'ERROR_SERVICE_UNAVALIABLE']);
  });
});

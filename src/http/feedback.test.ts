/** Reports of a wrong answer through HTTP: feedbackTask (CapSolver) and reportIncorrectImageCaptcha (Anti-Captcha). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Service } from '../app.js';
import { BLUE, RED, cellsWith, gridPicture } from '../testing/pictures.js';
import { post, testService } from '../testing/service.js';

const T = 'ReCaptchaV2Classification';

async function solved(svc: Service, clientKey: string, picture: Buffer, question = '/m/0k4j') {
  const r = await post(svc, '/createTask', { clientKey, task: { type: T, image: picture.toString('base64'), question } });
  assert.equal(r.errorId, 0, r.errorDescription);
  return r.taskId as string;
}

describe('feedback', () => {
  it('feedbackTask keeps picture, question, answer and the right cells; once, only for the key that made the task', async () => {
    const svc = await testService();
    try {
      const { clientKey } = await svc.accounts.createAccount(100);
      const { clientKey: other } = await svc.accounts.createAccount(100);
      const picture = await gridPicture(cellsWith(9, RED, [0, 4, 8]), 300);
      const taskId = await solved(svc, clientKey, picture);
      const foreign = await post(svc, '/feedbackTask', { clientKey: other, taskId, result: { invalid: true } });
      assert.equal(foreign.errorCode, 'ERROR_NO_SUCH_CAPCHA_ID');
      const bad = await post(svc, '/feedbackTask', { clientKey, taskId, result: { invalid: true, objects: [0, 9] } });
      assert.equal(bad.errorCode, 'ERROR_REQUIRED_FIELDS');
      assert.match(bad.errorDescription, /objects must be an array of cell indices from 0 to 8/);
      assert.match((await post(svc, '/feedbackTask', { clientKey, taskId, result: { invalid: true, hasObject: true } })).errorDescription, /hasObject is for a 1x1 task; this task is 3x3/);
      assert.match((await post(svc, '/feedbackTask', { clientKey, taskId })).errorDescription, /^result is missing/);
      assert.match((await post(svc, '/feedbackTask', { clientKey, taskId: 7, result: { invalid: true } })).errorDescription, /^taskId has the wrong type/);

      const ok = await post(svc, '/feedbackTask', { clientKey, taskId, result: { invalid: true, code: 1001, message: 'not passed', objects: [8, 0, 4, 5] } });
      assert.deepEqual({ ...ok, statusCode: undefined }, { errorId: 0, errorCode: '', errorDescription: '', message: 'ok', statusCode: undefined });
      const again = await post(svc, '/feedbackTask', { clientKey, taskId, result: { invalid: true } });
      assert.equal(again.errorCode, 'ERROR_NO_SUCH_CAPCHA_ID');
      assert.match(again.errorDescription, /already reported/);
      assert.equal((await post(svc, '/feedbackTask', { clientKey, taskId: '3a9e8cb8-3871-11ec-9794-94e6f7355a0b', result: { invalid: true } })).errorCode, 'ERROR_NO_SUCH_CAPCHA_ID');

      const [row, ...rest] = await svc.accounts.listFeedback({ pictures: true });
      assert.equal(rest.length, 0);
      assert.equal(row!.taskId, taskId);
      assert.equal(row!.source, 'feedbackTask');
      assert.equal(row!.kind, '3x3');
      assert.equal(row!.questionId, '/m/0k4j');
      assert.equal(row!.className, 'car');
      assert.deepEqual(row!.answer, { type: 'multi', objects: [0, 4, 8] });
      assert.deepEqual(row!.correction, { objects: [0, 4, 5, 8] });
      assert.equal(row!.code, '1001');
      assert.equal(row!.message, 'not passed');
      assert.ok(row!.picture?.equals(picture), 'the picture as sent');
      assert.equal(row!.refunded, 0, 'FEEDBACK_REFUND is off by default');
      assert.equal(await svc.accounts.balance(1), 94);
      assert.equal((await svc.accounts.listFeedback())[0]!.picture, undefined, 'pictures only when asked for');
    } finally {
      await svc.close();
    }
  });

  it('reportIncorrectImageCaptcha answers like Anti-Captcha; hasObject corrects a 1x1; invalid:false makes our answer the label', async () => {
    const svc = await testService();
    try {
      const { clientKey } = await svc.accounts.createAccount(100);
      const tile = await solved(svc, clientKey, await gridPicture([BLUE], 100), '/m/01bjv');
      const r = await post(svc, '/reportIncorrectImageCaptcha', { clientKey, taskId: tile, hasObject: false });
      assert.deepEqual([r.errorId, r.status], [0, 'success']);
      assert.match((await post(svc, '/reportIncorrectImageCaptcha', { clientKey, taskId: tile })).errorDescription, /already reported/);
      const plain = await solved(svc, clientKey, await gridPicture(cellsWith(9, RED, [1, 2, 3]), 300));
      assert.equal((await post(svc, '/reportIncorrectImageCaptcha', { clientKey, taskId: plain })).status, 'success');
      const passed = await solved(svc, clientKey, await gridPicture(cellsWith(9, RED, [6, 7, 8]), 300));
      assert.equal((await post(svc, '/feedbackTask', { clientKey, taskId: passed, result: { invalid: false } })).message, 'ok');
      const rows = await svc.accounts.listFeedback();
      assert.deepEqual(rows.map((x) => [x.source, x.kind, x.invalid, x.correction]), [
        ['reportIncorrectImageCaptcha', '1x1', true, { hasObject: false }],
        ['reportIncorrectImageCaptcha', '3x3', true, undefined],
        ['feedbackTask', '3x3', false, { objects: [6, 7, 8] }],
      ]);
    } finally {
      await svc.close();
    }
  });

  it('FEEDBACK_REFUND gives the charge back as a ledger row, at most FEEDBACK_REFUND_MAX_PER_DAY per key per day', async () => {
    const svc = await testService({ feedbackRefund: 'on', feedbackRefundMaxPerDay: 2 });
    try {
      const { clientKey, id } = await svc.accounts.createAccount(100);
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await solved(svc, clientKey, await gridPicture(cellsWith(9, RED, [i, 4, 8]), 300)));
      assert.equal(await svc.accounts.balance(id), 82);
      for (const taskId of ids) assert.equal((await post(svc, '/feedbackTask', { clientKey, taskId, result: { invalid: true } })).errorId, 0);
      assert.equal(await svc.accounts.balance(id), 94, 'two refunds of 6 points, the third over the cap');
      assert.deepEqual((await svc.accounts.listFeedback()).map((r) => r.refunded), [6, 6, 0]);
      const [acc] = await svc.accounts.list();
      assert.equal(acc!.ledgerSum, 94, 'each refund is a ledger row');
    } finally {
      await svc.close();
    }
  });
});

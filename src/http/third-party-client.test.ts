/**
 * A client of the vendor family that nobody on this team wrote: the npm package `anticaptcha`
 * (ScreamZ/anti-captcha, 2.2.0: apisauce over axios), against a real listening socket with only
 * its base URL changed. The package named in issue 2, `@captcha-libs/capsolver`, is not on the
 * npm registry this project can reach (`npm view` answers 404); `anticaptcha` speaks the same
 * createTask / getTaskResult / getBalance family and sends its own extra key (`languagePool`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AntiCaptcha, type AntiCaptchaError } from 'anticaptcha';
import type { Service } from '../app.js';
import { BLUE, RED, cellsWith, gridPicture } from '../testing/pictures.js';
import { testService } from '../testing/service.js';

let svc: Service;
let base: string;
let key: string;

/** The package fixes its base URL in the constructor; its apisauce instance is the only way to point it elsewhere. */
function pointedAt(client: AntiCaptcha, url: string): AntiCaptcha {
  (client as unknown as { api: { setBaseURL(u: string): void } }).api.setBaseURL(url);
  return client;
}

interface Solved { status: string; solution: Record<string, unknown> }

before(async () => {
  svc = await testService();
  base = await svc.app.listen({ port: 0, host: '127.0.0.1' });
  ({ clientKey: key } = await svc.accounts.createAccount(1000));
});
after(() => svc.close());

describe('anticaptcha (third-party client), base URL pointed at gridlens', () => {
  it('solves a 3x3 and a 1x1 through createTask and its own getTaskResult polling, and reads the balance', async () => {
    const client = pointedAt(new AntiCaptcha(key), base);
    assert.equal(await client.getBalance(), 1000);

    const img3 = (await gridPicture(cellsWith(9, RED, [1, 3, 8]), 300, 'jpeg')).toString('base64');
    const id3 = await client.createTask({ type: 'ReCaptchaV2Classification', image: img3, question: '/m/0k4j' });
    const r3 = await client.getTaskResult<Solved>(id3, 3, 20);
    assert.equal(r3.status, 'ready');
    assert.deepEqual((r3 as unknown as Solved).solution, { type: 'multi', objects: [1, 3, 8] });

    const tile = (await gridPicture([BLUE], 100)).toString('base64');
    const id1 = await client.createTask({ type: 'ReCaptchaV2Classification', image: tile, question: '/m/01bjv' });
    const r1 = await client.getTaskResult<Solved>(id1, 3, 20);
    assert.deepEqual((r1 as unknown as Solved).solution, { type: 'single', hasObject: true });

    assert.equal(await client.getBalance(), 1000 - 6 - 2);
  });

  it('gets the protocol error codes as the package raises them', async () => {
    const stranger = pointedAt(new AntiCaptcha('no-such-key'), base);
    await assert.rejects(stranger.getBalance(), (e: AntiCaptchaError) => String(e.code) === 'ERROR_KEY_DOES_NOT_EXIST');
    const client = pointedAt(new AntiCaptcha(key), base);
    const img3 = (await gridPicture(cellsWith(9, RED, [0]), 300, 'jpeg')).toString('base64');
    await assert.rejects(client.createTask({ type: 'ReCaptchaV2Classification', image: img3, question: '/m/nope' }), (e: AntiCaptchaError) => String(e.code) === 'ERROR_UNKNOWN_QUESTION');
    await assert.rejects(client.getTaskResult('not-a-task' as unknown as number, 1, 20), (e: AntiCaptchaError) => String(e.code) === 'ERROR_NO_SUCH_CAPCHA_ID');
  });
});

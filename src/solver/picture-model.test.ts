/**
 * A 4x4 picture model (input.unit "picture": the whole picture in, a row per square out) is used
 * for 4x4 pictures only, its square order matches the grid's, and its grids.4x4 list decides which
 * questions 4x4 answers. The fixture scores each square by its mean colour (training/make_fixture.py).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Service } from '../app.js';
import { BLUE, GREEN, RED, cellsWith, gridPicture } from '../testing/pictures.js';
import { FIXTURE_GRID4_MODEL, post, testService } from '../testing/service.js';

let svc: Service;
let key: string;
before(async () => {
  svc = await testService({ modelDir4x4: FIXTURE_GRID4_MODEL });
  ({ clientKey: key } = await svc.accounts.createAccount(1000));
});
after(() => svc.close());

const create = (image: Buffer, question: string, extra: Record<string, unknown> = {}) =>
  post(svc, '/createTask', { clientKey: key, task: { type: 'ReCaptchaV2Classification', image: image.toString('base64'), question, ...extra } });

it('answers the squares the object is in, in the grid\'s row-major order', async () => {
  for (const at of [[0, 5, 10, 15], [3, 12], [1, 2, 6, 7, 13]]) {
    const r = await create(await gridPicture(cellsWith(16, RED, at), 450), '/m/0k4j');
    assert.equal(r.errorId, 0, r.errorDescription);
    assert.deepEqual(r.solution, { type: 'multi', objects: at });
  }
});

it('a screenshot of another size, with grid "4x4", goes to the picture model too', async () => {
  const r = await create(await gridPicture(cellsWith(16, GREEN, [4, 9]), 600), '/m/0cdl1', { grid: '4x4' });
  assert.deepEqual(r.solution, { type: 'multi', objects: [4, 9] });
});

it('its grids.4x4 list decides 4x4 questions; 3x3 still uses the tile model', async () => {
  const bus4 = await create(await gridPicture(cellsWith(16, BLUE, [0]), 450), '/m/01bjv');
  assert.equal(bus4.errorCode, 'ERROR_UNKNOW_450x450_QUESTION');
  assert.match(bus4.errorDescription, /answerable: \/m\/0k4j, \/m\/0cdl1/);
  const bus3 = await create(await gridPicture(cellsWith(9, BLUE, [2, 4, 6]), 300), '/m/01bjv');
  assert.deepEqual(bus3.solution, { type: 'multi', objects: [2, 4, 6] });
});

it('a picture model in the tile slot (MODEL_DIR) is refused at start, naming MODEL_DIR_4X4', async () => {
  await assert.rejects(testService({ modelDir: FIXTURE_GRID4_MODEL }), /MODEL_DIR .* holds a 4x4 picture model .* MODEL_DIR_4X4/);
});

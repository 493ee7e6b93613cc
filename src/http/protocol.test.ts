/** The protocol through the HTTP layer, on the colour fixture model: every behaviour of issue 2. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import type { Service } from '../app.js';
import { BLACK, BLUE, GREEN, RED, cellsWith, gridPicture, screenshotPicture } from '../testing/pictures.js';
import { FIXTURE_MODEL, post, testService } from '../testing/service.js';

const T = 'ReCaptchaV2Classification';
let svc: Service;
let key: string;
let b64_3x3: string;

before(async () => {
  svc = await testService();
  ({ clientKey: key } = await svc.accounts.createAccount(100_000));
  b64_3x3 = (await gridPicture(cellsWith(9, RED, [1, 5, 8]), 300)).toString('base64');
});
after(() => svc.close());

const balance = async () => (await post(svc, '/getBalance', { clientKey: key })).balance as number;
const create = (task: Record<string, unknown>, extra: Record<string, unknown> = {}) => post(svc, '/createTask', { clientKey: key, task: { type: T, ...task }, ...extra });

describe('createTask answers', () => {
  it('3x3 without confidence: the three highest-scoring tiles, charged 6 points', async () => {
    const before = await balance();
    const r = await create({ image: b64_3x3, question: '/m/0k4j' });
    assert.equal(r.errorId, 0);
    assert.equal(r.errorCode, '');
    assert.equal(r.status, 'ready');
    assert.match(r.taskId as string, /^[0-9a-f-]{36}$/);
    assert.deepEqual(r.solution, { type: 'multi', objects: [1, 5, 8] });
    assert.equal(await balance(), before - 6);
  });

  it('3x3 with confidence: every tile at or above it, possibly none; number, numeric string or "" (absent)', async () => {
    const img = (await gridPicture(cellsWith(9, RED, [0, 4]), 300)).toString('base64');
    assert.deepEqual((await create({ image: img, question: '/m/0k4j', confidence: 0.5 })).solution, { type: 'multi', objects: [0, 4] });
    assert.deepEqual((await create({ image: img, question: '/m/0k4j', confidence: '0.5' })).solution, { type: 'multi', objects: [0, 4] });
    assert.equal(((await create({ image: img, question: '/m/0k4j', confidence: '' })).solution as { objects: number[] }).objects.length, 3);
    assert.deepEqual((await create({ image: img, question: '/m/01bjv', confidence: 0.5 })).solution, { type: 'multi', objects: [] });
  });

  it('3x3 reads tiles left to right, top to bottom', async () => {
    const cells = [RED, BLUE, GREEN, BLUE, RED, BLACK, GREEN, BLACK, BLUE];
    const img = (await gridPicture(cells, 300, 'jpeg')).toString('base64');
    assert.deepEqual((await create({ image: img, question: '/m/01bjv', confidence: 0.5 })).solution, { type: 'multi', objects: [1, 3, 8] });
    assert.deepEqual((await create({ image: img, question: '/m/0cdl1', confidence: 0.5 })).solution, { type: 'multi', objects: [2, 6] });
  });

  it('1x1: single with hasObject at the calibrated threshold, charged 2 points', async () => {
    const before = await balance();
    const red = (await gridPicture([RED], 100)).toString('base64');
    assert.deepEqual((await create({ image: red, question: '/m/0k4j' })).solution, { type: 'single', hasObject: true });
    assert.deepEqual((await create({ image: red, question: '/m/01bjv' })).solution, { type: 'single', hasObject: false });
    assert.equal(await balance(), before - 4);
  });

  it('1x1: the threshold is each class\'s own from model.json, not a fixed 0.5', async () => {
    // the fixture's scores sit near 0 or 1 and its thresholds are all 0.5, so move two of them
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gl-thresholds-'));
    const manifest = JSON.parse(readFileSync(path.join(FIXTURE_MODEL, 'model.json'), 'utf8')) as { thresholds: Record<string, number> };
    manifest.thresholds.car = 1.001; // above any score: a red tile is no longer a car
    manifest.thresholds.bus = 0; // every score reaches it: a red tile counts as a bus
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
    copyFileSync(path.join(FIXTURE_MODEL, 'model.onnx'), path.join(dir, 'model.onnx'));
    const moved = await testService({ modelDir: dir });
    try {
      const { clientKey } = await moved.accounts.createAccount(100);
      const red = (await gridPicture([RED], 100)).toString('base64');
      const ask = async (question: string) => (await post(moved, '/createTask', { clientKey, task: { type: T, image: red, question } })).solution;
      assert.deepEqual(await ask('/m/0k4j'), { type: 'single', hasObject: false });
      assert.deepEqual(await ask('/m/01bjv'), { type: 'single', hasObject: true });
    } finally {
      await moved.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('4x4: every square at or above the threshold', async () => {
    const img = (await gridPicture(cellsWith(16, BLUE, [0, 5, 10, 15]), 450)).toString('base64');
    assert.deepEqual((await create({ image: img, question: '/m/01bjv' })).solution, { type: 'multi', objects: [0, 5, 10, 15] });
  });

  it('scores: true returns per-cell scores', async () => {
    const r = await create({ image: b64_3x3, question: '/m/0k4j', scores: true });
    const sol = r.solution as { scores: number[] };
    assert.equal(sol.scores.length, 9);
    assert.ok(sol.scores[1]! > 0.99 && sol.scores[0]! < 0.01);
  });

  it('accepts prompt text in English and Chinese, a data: prefix, line breaks, and GIF/WebP/JPEG', async () => {
    for (const question of ['Select all images with cars', 'cars', 'a car', '汽车', 'Select all squares with cars. Click verify once there are none left.']) {
      assert.deepEqual((await create({ image: b64_3x3, question })).solution, { type: 'multi', objects: [1, 5, 8] }, question);
    }
    const wrapped = `data:image/png;base64,${b64_3x3.replace(/(.{76})/g, '$1\r\n')}`;
    assert.equal((await create({ image: wrapped, question: '/m/0k4j' })).errorId, 0);
    for (const fmt of ['gif', 'webp', 'jpeg'] as const) {
      const img = (await gridPicture(cellsWith(9, RED, [2, 3, 7]), 300, fmt)).toString('base64');
      assert.deepEqual((await create({ image: img, question: '/m/0k4j' })).solution, { type: 'multi', objects: [2, 3, 7] }, fmt);
    }
  });

  it('grid sets the kind of a screenshot of another size', async () => {
    const img = (await gridPicture(cellsWith(9, RED, [0, 1, 2]), 612)).toString('base64');
    assert.equal((await create({ image: img, question: '/m/0k4j' })).errorCode, 'ERROR_ILLEGAL_IMAGE');
    assert.deepEqual((await create({ image: img, question: '/m/0k4j', grid: '3x3' })).solution, { type: 'multi', objects: [0, 1, 2] });
    const img4 = (await gridPicture(cellsWith(16, RED, [3, 12]), 600)).toString('base64');
    assert.deepEqual((await create({ image: img4, question: '/m/0k4j', grid: '4x4' })).solution, { type: 'multi', objects: [3, 12] });
  });

  it('a screenshot without grid: the separators give the kind and the crop, margins are cut off', async () => {
    const shot3 = await screenshotPicture(cellsWith(9, RED, [2, 3, 7]), { cell: 160, separator: 6, margin: [30, 80, 20, 25] }, 'jpeg');
    assert.deepEqual((await create({ image: shot3.bytes.toString('base64'), question: '/m/0k4j' })).solution, { type: 'multi', objects: [2, 3, 7] });
    const shot4 = await screenshotPicture(cellsWith(16, RED, [0, 6, 15]), { cell: 140, separator: 6, margin: [10, 10, 40, 10], background: [74, 144, 226] });
    const before = await balance();
    assert.deepEqual((await create({ image: shot4.bytes.toString('base64'), question: '/m/0k4j' })).solution, { type: 'multi', objects: [0, 6, 15] });
    assert.equal(await balance(), before - 6);
  });

  it('the prompt text names the kind of a plain picture of another size; a small plain one is a 1x1', async () => {
    const plain4 = (await gridPicture(cellsWith(16, RED, [3, 12]), 600)).toString('base64');
    assert.deepEqual((await create({ image: plain4, question: 'Select all squares with cars' })).solution, { type: 'multi', objects: [3, 12] });
    const plain3 = (await gridPicture(cellsWith(9, RED, [0, 1, 2]), 500)).toString('base64');
    assert.deepEqual((await create({ image: plain3, question: 'Select all images with cars', confidence: 0.5 })).solution, { type: 'multi', objects: [0, 1, 2] });
    assert.deepEqual((await create({ image: plain3, question: '请选择包含汽车的所有图片', confidence: 0.5 })).solution, { type: 'multi', objects: [0, 1, 2] });
    assert.deepEqual((await create({ image: plain4, question: '请选择包含汽车的所有方格' })).solution, { type: 'multi', objects: [3, 12] });
    const tile = (await gridPicture([RED], 120)).toString('base64');
    assert.deepEqual((await create({ image: tile, question: '/m/0k4j' })).solution, { type: 'single', hasObject: true });
  });

  it('a plain picture of another size with a bare ID is refused, saying what to send; the protocol sizes keep their rule', async () => {
    const plain = (await gridPicture(cellsWith(9, RED, [0, 1, 2]), 500)).toString('base64');
    const r = await create({ image: plain, question: '/m/0k4j' });
    assert.equal(r.errorCode, 'ERROR_ILLEGAL_IMAGE');
    assert.match(r.errorDescription, /500x500.*no grid was found.*task\.grid.*Select all squares with/);
    // a 300x300 asked with "squares" stays a 3x3 (the vendor's size rule)
    assert.deepEqual((await create({ image: b64_3x3, question: 'Select all squares with cars' })).solution, { type: 'multi', objects: [1, 5, 8] });
  });

  it('null for an optional field means absent: grid, confidence, scores', async () => {
    const r = await create({ image: b64_3x3, question: '/m/0k4j', grid: null, confidence: null, scores: null });
    assert.deepEqual(r.solution, { type: 'multi', objects: [1, 5, 8] });
  });

  it('ignores unknown keys at the top level and inside task', async () => {
    const r = await post(svc, '/createTask', {
      clientKey: key, softId: 1234, softID: '55', appId: 'X', callbackUrl: null, languagePool: 'en',
      task: { type: T, image: b64_3x3, question: '/m/0k4j', softID: 7, _isReCaptchaV2Classification: true, websiteURL: 'https://x.test', websiteKey: 'abc' },
    });
    assert.deepEqual(r.solution, { type: 'multi', objects: [1, 5, 8] });
  });

  it('accepts bodies sent without a JSON content type', async () => {
    const r = await post(svc, '/getBalance', JSON.stringify({ clientKey: key }), { 'content-type': 'text/plain' });
    assert.equal(r.errorId, 0);
  });
});

describe('getTaskResult', () => {
  it('stays readable for TASK_TTL_SECONDS (600 s by default, never under 300), then is gone', async () => {
    const made = await create({ image: b64_3x3, question: '/m/0k4j' });
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    try {
      const read = async () => (await post(svc, '/getTaskResult', { clientKey: key, taskId: made.taskId })).errorCode;
      mock.timers.tick(300_000);
      assert.equal(await read(), '', 'readable after 5 minutes');
      mock.timers.tick(299_000);
      assert.equal(await read(), '', 'readable after 9 min 59 s');
      mock.timers.tick(2_000);
      assert.equal(await read(), 'ERROR_NO_SUCH_CAPCHA_ID', 'gone after 10 minutes');
    } finally {
      mock.timers.reset();
    }
  });

  it('returns what createTask returned, only to the key that created it', async () => {
    const made = await create({ image: b64_3x3, question: '/m/0k4j' });
    const got = await post(svc, '/getTaskResult', { clientKey: key, taskId: made.taskId });
    assert.deepEqual({ ...got, statusCode: undefined }, { ...made, statusCode: undefined });
    const { clientKey: other } = await svc.accounts.createAccount(100);
    const foreign = await post(svc, '/getTaskResult', { clientKey: other, taskId: made.taskId });
    assert.equal(foreign.errorCode, 'ERROR_NO_SUCH_CAPCHA_ID');
    assert.equal((await post(svc, '/getBalance', { clientKey: other })).balance, 100);
  });
});

describe('GET /questions: what the running models answer', () => {
  it('marks each question per grid as answered with its figures, gated with why, or without a class', async () => {
    const res = await svc.app.inject({ method: 'GET', url: '/questions' });
    type Cover = { answered: boolean; model: string; class?: string; reason?: string };
    const rows = (res.json() as { questions: { id: string; english: string; chinese: string; answers: Record<string, Cover> }[] }).questions;
    const row = (id: string) => rows.find((q) => q.id === id)!;
    assert.equal(rows.length, 21);
    assert.deepEqual(row('/m/0k4j').answers['3x3'], { answered: true, model: 'tiny-colour-fixture', class: 'car' });
    assert.equal(row('/m/0cdl1').answers['3x3']!.answered, true);
    assert.equal(row('/m/0cdl1').answers['4x4']!.answered, false);
    assert.match(row('/m/0cdl1').answers['4x4']!.reason!, /trained, but below its validation gate.*"palm" out of grids\.4x4/);
    assert.equal(row('/m/0pg52').answers['1x1']!.answered, false);
    assert.match(row('/m/0pg52').answers['1x1']!.reason!, /^no trained class/);
    assert.equal(row('/m/01bjv').chinese, '巴士');
  });

  it('a class the model has but gates (no question IDs) is refused as gated, with its validation figures', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gl-gated-'));
    const manifest = JSON.parse(readFileSync(path.join(FIXTURE_MODEL, 'model.json'), 'utf8')) as { questions: Record<string, string[]>; grids: Record<string, string[]>; metrics: unknown };
    manifest.questions.palm = [];
    manifest.grids = { '3x3': ['bus', 'car'], '1x1': ['bus', 'car'], '4x4': ['bus', 'car'] };
    manifest.metrics = { validation: { perClass: { palm: { n: 12, recall: 0.42, precision: 0.5 }, car: { n: 30, recall: 0.9, precision: 0.95 } } } };
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
    copyFileSync(path.join(FIXTURE_MODEL, 'model.onnx'), path.join(dir, 'model.onnx'));
    const gated = await testService({ modelDir: dir });
    try {
      const { clientKey } = await gated.accounts.createAccount(100);
      const r = await post(gated, '/createTask', { clientKey, task: { type: T, image: b64_3x3, question: 'palm trees' } });
      assert.equal(r.errorCode, 'ERROR_CAPTCHA_UNSOLVABLE');
      assert.match(r.errorDescription, /trained, but below its validation gate.*"palm".*validation recall 0\.42 on 12/);
      const rows = ((await gated.app.inject({ method: 'GET', url: '/questions' })).json() as { questions: { id: string; answers: Record<string, { answered: boolean; metrics?: Record<string, number> }> }[] }).questions;
      assert.deepEqual(rows.find((q) => q.id === '/m/0k4j')!.answers['3x3']!.metrics, { n: 30, recall: 0.9, precision: 0.95 });
      assert.equal(rows.find((q) => q.id === '/m/0cdl1')!.answers['3x3']!.answered, false);
    } finally {
      await gated.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The whole feedback loop: a task is answered, the user reports the right cells, the report is
 * exported as labelled tiles by the CLI, and a tiny training run reads the export as one more
 * `--labels` source. The training step is skipped, with the reason, without torch or ../shared/data.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { it } from 'node:test';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../config.js';
import { GREEN, RED, gridPicture } from '../testing/pictures.js';
import { FIXTURE_MODEL, post, testService } from '../testing/service.js';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const PY = '/usr/bin/python3';
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;
const tilesV1 = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'tiles-v1', 'manifest.csv');
const trainSkip = !hasTorch ? `${PY} lacks torch/torchvision/onnx` : !existsSync(tilesV1) ? `${tilesV1} is missing` : false;

it('createTask → feedbackTask with the right cells → feedback export → a training run reads the export', { timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gl-loop-'));
  const db = path.join(dir, 'accounts.sqlite');
  const svc = await testService({ dbPath: db });
  let taskId: string;
  try {
    const { clientKey } = await svc.accounts.createAccount(100);
    // the fixture model takes every red cell for a car; the user says cell 3 (red too) holds none
    const picture = await gridPicture([RED, GREEN, GREEN, RED, RED, GREEN, GREEN, GREEN, RED], 300);
    const created = await post(svc, '/createTask', { clientKey, task: { type: 'ReCaptchaV2Classification', image: picture.toString('base64'), question: '/m/0k4j', confidence: 0.5 } });
    taskId = created.taskId as string;
    assert.deepEqual((created.solution as { objects: number[] }).objects, [0, 3, 4, 8]);
    const report = await post(svc, '/feedbackTask', { clientKey, taskId, result: { invalid: true, objects: [0, 4, 8] } });
    assert.equal(report.message, 'ok');
  } finally {
    await svc.close();
  }
  const gl = (args: string[]) => run(process.execPath, [CLI, ...args, '--db', db], { env: { ...process.env, MODEL_DIR: FIXTURE_MODEL, MODEL_DIR_4X4: '', DATABASE_URL: '' } });
  const listed = JSON.parse((await gl(['feedback', 'list', '--json'])).stdout) as { taskId: string; correction: unknown; pictureBytes: number }[];
  assert.deepEqual(listed.map((r) => [r.taskId, r.correction]), [[taskId, { objects: [0, 4, 8] }]]);
  assert.ok(listed[0]!.pictureBytes > 0);
  assert.match((await gl(['feedback', 'list'])).stdout, /feedbackTask .* objects:\[0,3,4,8\] +objects:\[0,4,8\]/);

  const out = path.join(dir, 'export');
  assert.match((await gl(['feedback', 'export', '--out', out])).stdout, /wrote 9 labelled tiles from 1 reports/);
  const [header, ...lines] = readFileSync(path.join(out, 'labels.csv'), 'utf8').trim().split('\n');
  assert.equal(header, 'pix_sha1,file,class,method,task_id');
  const rows = lines.map((l) => l.split(','));
  assert.deepEqual(rows.map((r) => [r[1], r[2]]), Array.from({ length: 9 }, (_, i) => [`tiles/${taskId}-${i}.png`, [0, 4, 8].includes(i) ? 'car' : 'other']));
  // each tile is its cell of the picture, and pix_sha1 is the sha1 of its RGB pixels
  const tile3 = await sharp(path.join(out, rows[3]![1]!)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([tile3.info.width, tile3.info.height, [...tile3.data.subarray(0, 3)]], [100, 100, [...RED]]);
  assert.equal(createHash('sha1').update(tile3.data).digest('hex'), rows[3]![0]);

  if (trainSkip) return t.skip(`training step: ${trainSkip}`);
  const env = { ...process.env, OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' };
  const log = execFileSync(PY, ['training/train.py', '--epochs', '1', '--limit', '200', '--batch', '32', '--labels', out, '--out', path.join(dir, 'run')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  assert.match(log, new RegExp(`merged 9 tiles from the feedback export ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\{'car': 3, 'other': 6\\}`));
  assert.match(log, /loading 200 labelled tiles/, 'the export\'s nine tiles are kept within --limit');
  assert.match(log, /epoch {3}1\/1 {2}loss \d/);
});

/** /health, /ready and /metrics. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';
import { after, before, it } from 'node:test';
import type { Service } from '../app.js';
import { RED, cellsWith, gridPicture } from '../testing/pictures.js';
import { post, testService } from '../testing/service.js';

let svc: Service;
before(async () => { svc = await testService(); });
after(() => svc.close());

it('/health and /ready answer with the dependency checks', async () => {
  const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.match(version, /^\d+\.\d+\.\d+/);
  assert.deepEqual((await svc.app.inject({ url: '/health' })).json(), { status: 'ok', version });
  const ready = await svc.app.inject({ url: '/ready' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: 'ready', checks: { model: 'ok', database: 'ok' } });
});

it('/metrics counts requests by endpoint and error code, latency by kind, batches, points and the model', async () => {
  const { clientKey } = await svc.accounts.createAccount(100);
  const image = (await gridPicture(cellsWith(9, RED, [0]), 300)).toString('base64');
  await post(svc, '/createTask', { clientKey, task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' } });
  await post(svc, '/createTask', { clientKey, task: { type: 'ReCaptchaV2Classification', image, question: '/m/nope' } });
  const text = (await svc.app.inject({ url: '/metrics' })).body;
  assert.match(text, /gridlens_requests_total\{endpoint="createTask",error_code=""\} 1/);
  assert.match(text, /gridlens_requests_total\{endpoint="createTask",error_code="ERROR_UNKNOWN_QUESTION"\} 1/);
  assert.match(text, /gridlens_task_seconds_count\{kind="3x3"\} 1/);
  assert.match(text, /gridlens_inference_batch_size_count 1/);
  assert.match(text, /gridlens_points_charged_total\{kind="3x3"\} 6/);
  assert.match(text, /gridlens_model_info\{name="tiny-colour-fixture",version="1",sha256="[0-9a-f]{12}"\} 1/);
});

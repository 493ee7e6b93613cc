import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadModel } from '../model/manifest.js';
import { FIXTURE_MODEL } from '../testing/service.js';
import { InferencePool } from './pool.js';

it('a batch goes to a worker and comes back as batch x classes scores; a dead worker is replaced', async () => {
  const model = loadModel(FIXTURE_MODEL);
  const pool = await InferencePool.start(model, 1, 1);
  try {
    const size = model.manifest.input.size;
    const red = new Float32Array(2 * 3 * size * size);
    red.fill(1, 0, size * size); // first tile: red channel full
    const { scores } = await pool.infer(red, 2);
    assert.equal(scores.length, 2 * model.manifest.classes.length);
    assert.ok(scores[model.manifest.classes.indexOf('car')]! > 0.99);
    // kill the worker: the pool must answer again afterwards
    await (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0]!.worker.terminate();
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await pool.infer(new Float32Array(3 * size * size), 1).then(() => true, () => false);
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ok, 'a new worker took over');
  } finally {
    await pool.close();
  }
});

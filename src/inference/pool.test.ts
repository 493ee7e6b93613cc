import assert from 'node:assert/strict';
import { it } from 'node:test';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';
import { loadModel } from '../model/manifest.js';
import { FIXTURE_MODEL } from '../testing/service.js';
import { InferencePool } from './pool.js';
import { sampleTiles } from '../imaging/sample-tiles.js';

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

it('a raw picture cut in the worker scores as the same picture cut on the event loop, and the caller keeps its bytes', async () => {
  const model = loadModel(FIXTURE_MODEL);
  const pool = await InferencePool.start(model, 1, 1);
  try {
    const side = 300;
    const raw = Buffer.alloc(side * side * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) % 251;
    const before = Buffer.from(raw);
    const here = await pool.infer(sampleTiles(raw, side, 3, model.manifest.input), 9);
    const there = await pool.inferPicture(raw, side, 3);
    assert.deepEqual(Array.from(there.scores), Array.from(here.scores));
    assert.ok(there.cutMs !== undefined && there.cutMs >= 0);
    assert.equal(raw.length, side * side * 3, 'not detached');
    assert.ok(raw.equals(before));
    // a 4x4 cut with context, as the tile model answers 4x4 squares
    const big = Buffer.alloc(450 * 450 * 3);
    for (let i = 0; i < big.length; i++) big[i] = (i * 104729) % 253;
    const ctx = await pool.inferPicture(big, 450, 4, 1.5);
    const ref = await pool.infer(sampleTiles(big, 450, 4, model.manifest.input, 1.5), 16);
    assert.deepEqual(Array.from(ctx.scores), Array.from(ref.scores));
  } finally {
    await pool.close();
  }
});

it('close() lets the process end by itself: each worker releases its session and exits', async () => {
  // worker.terminate() in the middle of a run could abort the whole process in onnxruntime-node's
  // native teardown ("terminate called after throwing an instance of 'Napi::Error'", seen when
  // stopping a loaded server); batches already queued are answered before the workers end.
  const { spawn } = await import('node:child_process');
  const script = `
    import { loadModel } from ${JSON.stringify(new URL('../model/manifest.js', import.meta.url).href)};
    import { InferencePool } from ${JSON.stringify(new URL('./pool.js', import.meta.url).href)};
    const model = loadModel(${JSON.stringify(FIXTURE_MODEL)});
    const pool = await InferencePool.start(model, 2, 1);
    const size = model.manifest.input.size;
    await Promise.all(Array.from({ length: 20 }, () => pool.infer(new Float32Array(9 * 3 * size * size), 9)));
    // and close while batches are still in flight, as a server stopped under load does
    const late = Array.from({ length: 20 }, () => pool.infer(new Float32Array(64 * 3 * size * size), 64).then(() => 'done', (e) => e.message));
    await pool.close();
    const settled = await Promise.all(late);
    console.log('closed', settled.filter((s) => s === 'done').length, 'of', settled.length, 'in-flight batches answered');
    // a pool closed while it is replacing a dead worker must close the replacement too
    const other = await InferencePool.start(model, 1, 1);
    await other.slots[0].worker.terminate();
    await new Promise((r) => setImmediate(r));
    await Promise.all([other.close(), other.close()]);
    console.log('closed during a restart');`;
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/gridlens-close-`);
  const file = `${dir}/close.mjs`;
  writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('still running after 20 s'); }, 20_000);
    child.once('exit', (c, sig) => { clearTimeout(timer); resolve(c ?? String(sig)); });
  });
  assert.equal(code, 0, out);
  assert.match(out, /closed 20 of 20 in-flight batches answered/);
  assert.match(out, /closed during a restart/);
  assert.doesNotMatch(out, /terminate called|Napi::Error/);
  rmSync(dir, { recursive: true, force: true });
});

it('the event loop keeps turning while a worker runs a long batch (inference is off the main thread)', async () => {
  const model = loadModel(path.join(PROJECT_ROOT, 'models', 'gridlens-tiles'));
  const pool = await InferencePool.start(model, 1, 1);
  try {
    const size = model.manifest.input.size;
    await pool.infer(new Float32Array(3 * size * size), 1); // warm-up
    const input = new Float32Array(384 * 3 * size * size).fill(0.1); // made before timing: filling it takes this thread a while
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 2);
    const { ms } = await pool.infer(input, 384);
    clearInterval(ticker);
    // run on this thread, the batch would hold the timer up for about its whole duration
    assert.ok(ms > 40, `the batch took ${ms.toFixed(0)} ms, long enough to tell`);
    assert.ok(longestGap < ms / 2, `longest event-loop gap ${longestGap.toFixed(0)} ms during a ${ms.toFixed(0)} ms batch`);
  } finally {
    await pool.close();
  }
});

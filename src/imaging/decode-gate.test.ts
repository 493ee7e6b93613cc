import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DecodeGate } from './decode-gate.js';

const tick = () => new Promise((r) => setImmediate(r));

it('at most perKey decodes for one key; another key is served from the same queue meanwhile', async () => {
  const gate = new DecodeGate(2, 1);
  const granted: string[] = [];
  const a1 = gate.acquire(1).then((r) => { granted.push('a1'); return r; });
  const a2 = gate.acquire(1).then((r) => { granted.push('a2'); return r; });
  const a3 = gate.acquire(1).then((r) => { granted.push('a3'); return r; });
  const b1 = gate.acquire(2).then((r) => { granted.push('b1'); return r; });
  await tick();
  assert.deepEqual(granted, ['a1', 'b1'], 'key 1 holds one slot, key 2 gets the other though it queued last');
  assert.equal(gate.waiting, 2);
  (await a1)();
  (await a1)(); // idempotent
  await tick();
  assert.deepEqual(granted, ['a1', 'b1', 'a2']);
  (await b1)();
  (await a2)();
  await tick();
  (await a3)();
  assert.equal(gate.running, 0);
  assert.equal(gate.peak, 2);
  assert.equal(gate.peakPerKey, 1);
});

it('at most perProcess decodes in all', async () => {
  const gate = new DecodeGate(2, 5);
  const releases = await Promise.race([Promise.all([1, 2, 3].map((k) => gate.acquire(k))), new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 50))]);
  assert.equal(releases, 'blocked');
  assert.equal(gate.running, 2);
  assert.equal(gate.waiting, 1);
});

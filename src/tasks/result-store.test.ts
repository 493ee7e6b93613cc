import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ResultStore } from './result-store.js';

const sol = { type: 'multi' as const, objects: [1] };

it('keeps a result for its TTL, only for its account', async () => {
  let now = 0;
  const store = new ResultStore(300_000, 100, () => now);
  await store.put('a', 1, sol);
  now = 299_999;
  assert.deepEqual(await store.get('a', 1), sol);
  assert.equal(await store.get('a', 2), undefined);
  now = 300_000;
  assert.equal(await store.get('a', 1), undefined);
});

it('sweeps expired entries and caps the count, dropping the oldest', async () => {
  let now = 0;
  const store = new ResultStore(1000, 3, () => now);
  for (const id of ['a', 'b', 'c', 'd']) await store.put(id, 1, sol);
  assert.equal(store.size, 3);
  assert.equal(await store.get('a', 1), undefined);
  now = 5000;
  await store.put('e', 1, sol);
  assert.equal(store.size, 1);
});

it('keeps each task\'s picture beside its result, within a byte budget that drops the oldest picture first', async () => {
  let now = 0;
  const store = new ResultStore(1000, 100, () => now, 25);
  const ctx = (n: number) => ({ kind: '3x3' as const, questionId: '/m/0k4j', className: 'car', picture: Buffer.alloc(n, 1) });
  await store.put('a', 1, sol, ctx(10));
  await store.put('b', 1, sol, ctx(10));
  assert.equal((await store.task('a', 1))?.context?.picture?.length, 10);
  assert.equal(await store.task('a', 2), undefined);
  await store.put('c', 1, sol, ctx(10));
  assert.equal(store.heldPictureBytes, 20);
  const a = await store.task('a', 1);
  assert.deepEqual(a?.solution, sol, 'the result outlives its picture');
  assert.equal(a?.context?.picture, undefined);
  assert.equal(a?.context?.className, 'car');
  now = 2000;
  await store.put('d', 1, sol);
  assert.equal(store.heldPictureBytes, 0);
});

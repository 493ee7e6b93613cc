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

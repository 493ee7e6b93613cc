import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KeyLimits } from './limits.js';
import { ProtocolError } from '../protocol/errors.js';

it('rate: a burst of rps requests, then refused, refilled over time', async () => {
  let now = 0;
  const limits = new KeyLimits(2, 0, () => now);
  await limits.hit(1);
  await limits.hit(1);
  await assert.rejects(limits.hit(1), (e: ProtocolError) => e.errorCode === 'ERROR_TOO_MUCH_REQUESTS');
  await limits.hit(2);
  now = 500;
  await limits.hit(1);
});

it('in flight: refuses past the maximum and frees slots once', () => {
  const limits = new KeyLimits(0, 2);
  const a = limits.enter(1);
  limits.enter(1);
  assert.throws(() => limits.enter(1), (e: ProtocolError) => e.errorCode === 'ERROR_THREADS_MAXIMUM');
  a();
  a();
  limits.enter(1);
  assert.throws(() => limits.enter(1), (e: ProtocolError) => e.errorCode === 'ERROR_THREADS_MAXIMUM');
});

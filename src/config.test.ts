import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from './config.js';

it('defaults, then environment, then overrides; frozen', () => {
  const c = loadConfig({ price1x1: '3' }, { PORT: '9000' });
  assert.equal(c.port, 9000);
  assert.equal(c.price1x1, 3);
  assert.equal(c.price3x3, 6);
  assert.ok(Object.isFrozen(c));
});

it('names the variable and the allowed values on bad input', () => {
  assert.throws(() => loadConfig({}, { PORT: 'eighty' }), /PORT \(port\) must be an integer >= 0, got "eighty"/);
  assert.throws(() => loadConfig({}, { TASK_TTL_SECONDS: '10' }), /TASK_TTL_SECONDS.*>= 300/);
});

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

it('integers in decimal digits only; prices up to Number.MAX_SAFE_INTEGER (issue 19)', () => {
  for (const bad of ['0x10', '1e3', '0b1', ' 8', '6.0']) assert.throws(() => loadConfig({}, { PRICE_3X3: bad }), /PRICE_3X3.*decimal digits only/, bad);
  assert.throws(() => loadConfig({}, { PRICE_1X1: '9007199254740992' }), /<= 9007199254740991/);
  assert.equal(loadConfig({}, { PRICE_1X1: '9007199254740991' }).price1x1, Number.MAX_SAFE_INTEGER);
});

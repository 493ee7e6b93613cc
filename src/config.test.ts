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
  assert.throws(() => loadConfig({}, { PORT: 'eighty' }), /PORT \(port\) must be an integer from 0 to 65535, got "eighty"/);
  assert.throws(() => loadConfig({}, { PORT: '99999' }), /^ConfigError: PORT \(port\) must be an integer from 0 to 65535, got "99999"$/);
  assert.throws(() => loadConfig({}, { LOG_LEVEL: 'verbose' }), /^ConfigError: LOG_LEVEL \(logLevel\) must be one of fatal, error, warn, info, debug, trace, silent; got "verbose"$/);
  assert.throws(() => loadConfig({}, { FEEDBACK_REFUND: 'maybe' }), /FEEDBACK_REFUND \(feedbackRefund\) must be on or off/);
  assert.equal(loadConfig({}, { FEEDBACK_REFUND: 'on' }).feedbackRefund, true);
  assert.equal(loadConfig({}, {}).feedbackRefund, false);
  assert.throws(() => loadConfig({}, { TASK_TTL_SECONDS: '10' }), /TASK_TTL_SECONDS.*>= 300/);
});

it('integers in decimal digits only; prices up to Number.MAX_SAFE_INTEGER (issue 19)', () => {
  for (const bad of ['0x10', '1e3', '0b1', ' 8', '6.0']) assert.throws(() => loadConfig({}, { PRICE_3X3: bad }), /PRICE_3X3.*decimal digits only/, bad);
  assert.throws(() => loadConfig({}, { PRICE_1X1: '9007199254740992' }), /^ConfigError: PRICE_1X1 \(price1x1\) must be an integer from 0 to 9007199254740991, got "9007199254740992"$/);
  assert.equal(loadConfig({}, { PRICE_1X1: '9007199254740991' }).price1x1, Number.MAX_SAFE_INTEGER);
});

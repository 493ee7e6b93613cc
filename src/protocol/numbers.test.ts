/** Issue 19, cases 8 and 11: plain decimals only, in the protocol and the CLI; points up to Number.MAX_SAFE_INTEGER. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MAX_POINTS, parseDecimal, parsePoints } from './numbers.js';
import { parseConfidence } from './requests.js';
import { ProtocolError } from './errors.js';

it('confidence: "0x1", "0b1", "0o1", "1e0", "Infinity", " 0.5" are refused; decimals and JSON numbers pass', () => {
  for (const bad of ['0x1', '0b1', '0o1', '1e0', '5e-1', 'Infinity', ' 0.5', '0.5 ', '1_0', '--1', '0x0']) {
    assert.throws(() => parseConfidence(bad), (e: unknown) => e instanceof ProtocolError && e.errorCode === 'ERROR_REQUIRED_FIELDS' && /decimal string/.test(e.message), bad);
  }
  assert.equal(parseConfidence('0.5'), 0.5);
  assert.equal(parseConfidence('.25'), 0.25);
  assert.equal(parseConfidence('1'), 1);
  assert.equal(parseConfidence('1.0'), 1);
  assert.equal(parseConfidence(0.7), 0.7);
  assert.equal(parseConfidence(''), undefined);
});

it('points: decimal digits up to 2^53 - 1 only', () => {
  for (const bad of ['1e3', '0x10', '0b1', '-1', '1.5', ' 3', '', '9007199254740992', '99999999999999999999']) assert.equal(parsePoints(bad), undefined, bad);
  assert.equal(parsePoints('0'), 0);
  assert.equal(parsePoints('1000'), 1000);
  assert.equal(parsePoints(String(MAX_POINTS)), MAX_POINTS);
  assert.equal(parseDecimal('0x1'), undefined);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProfileTrue, isUpstreamYes, looksLikeIgnoredYes, parseByteSize, parseIntInRange, parsePort, parseUnsigned } from './values.js';

test('integers are digits only, within the safe range', () => {
  assert.equal(parseUnsigned('0'), 0);
  assert.equal(parseUnsigned('0042'), 42);
  for (const bad of ['', '-1', '+1', '1.5', '1e3', ' 1', '0x10', '60s', '99999999999999999999']) {
    assert.equal(parseUnsigned(bad), undefined, bad);
  }
  assert.equal(parseIntInRange('600', 1, 600), 600);
  assert.equal(parseIntInRange('601', 1, 600), undefined);
  assert.equal(parsePort('0'), undefined);
  assert.equal(parsePort('65535'), 65535);
  assert.equal(parsePort('65536'), undefined);
});

test("upstream's switch test: on when the value starts with 1 or y", () => {
  for (const on of ['1', 'y', 'Yes', 'YES', ' yes', '10', 'yikes']) assert.equal(isUpstreamYes(on), true, on);
  for (const off of ['0', 'no', 'true', 'on', 'off', '']) assert.equal(isUpstreamYes(off), false, off);
  assert.equal(isUpstreamYes(undefined), false);
  assert.equal(looksLikeIgnoredYes('true'), true);
  assert.equal(looksLikeIgnoredYes('On'), true);
  assert.equal(looksLikeIgnoredYes('no'), false);
  assert.equal(looksLikeIgnoredYes('yes'), false);
});

test('profile booleans are true only for 1, y, yes, true, on', () => {
  for (const on of ['1', 'y', 'YES', 'true', 'On']) assert.equal(isProfileTrue(on), true, on);
  for (const off of ['0', 'no', 'yes # keep', 'yess', ' yes']) assert.equal(isProfileTrue(off), false, off);
});

test('byte sizes accept plain bytes, K and M', () => {
  assert.equal(parseByteSize('100'), 100);
  assert.equal(parseByteSize('512K'), 524288);
  assert.equal(parseByteSize('2M'), 2097152);
  assert.equal(parseByteSize('2m'), 2097152);
  for (const bad of ['0', '0K', '', 'K', '1G', '1.5M', '-1', '1 K', '99999999999999999M']) {
    assert.equal(parseByteSize(bad), undefined, bad);
  }
});

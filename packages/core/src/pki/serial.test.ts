import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalSerialHex, legacySerial, parseSerialInput, serialCandidates } from './serial.js';

test('certificate serials are always hex: 0x10 and 0x0A no longer collide', () => {
  assert.equal(canonicalSerialHex('10'), '10');
  assert.equal(canonicalSerialHex('0A'), 'a');
  assert.equal(canonicalSerialHex('00:0a'), 'a');
  assert.equal(canonicalSerialHex('serial=1F'), '1f');
  assert.equal(canonicalSerialHex('0x10'), '10');
  assert.equal(canonicalSerialHex('00'), '0');
  assert.throws(() => canonicalSerialHex('xyz'), { code: 'CE_ERR_SERIAL_INVALID' });
});

test('operator input accepts every form of item 11', () => {
  for (const form of ['deadbeef', 'DE:AD:BE:EF', '00:DE:AD:BE:EF', '0xdeadbeef', 'serial=DEADBEEF', 'serial=00DEADBEEF', '3735928559']) {
    assert.equal(parseSerialInput(form), 'deadbeef', form);
  }
  assert.equal(parseSerialInput(''), undefined);
  assert.equal(parseSerialInput('not-a-serial'), undefined);
});

test('upstream serial_to_hex test vectors', () => {
  const vectors: Array<[string, string]> = [
    ['02', '2'], ['0A', 'a'], ['10', 'a'], ['serial=1F', '1f'], ['00:0a', 'a'], ['3735928559', 'deadbeef'], ['0x10', 'a'],
  ];
  for (const [input, want] of vectors) assert.equal(legacySerial(input), want, input);
  assert.equal(legacySerial('zz'), undefined);
});

test('serialCandidates adds the upstream reading only when it differs', () => {
  assert.deepEqual(serialCandidates('10'), ['10', 'a']);
  assert.deepEqual(serialCandidates('0A'), ['a']);
  assert.deepEqual(serialCandidates('5F3AC1'), ['5f3ac1']);
});

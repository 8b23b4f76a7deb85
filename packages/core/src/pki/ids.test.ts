import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNonce, newReqid, randomSerialHex } from './ids.js';
import { pairingCode } from './pairing-code.js';
import { legacySerial, canonicalSerialHex } from './serial.js';

test('pairingCode matches the protocol test vectors', () => {
  assert.equal(pairingCode('abc'), '432319');
  assert.equal(pairingCode('-----BEGIN CERTIFICATE REQUEST-----\n'), '888262');
  assert.equal(pairingCode(Buffer.from('abc')), '432319');
  // exact bytes matter: a missing trailing newline is another code
  assert.notEqual(pairingCode('-----BEGIN CERTIFICATE REQUEST-----'), '888262');
  for (const s of ['', 'x', 'é', 'a'.repeat(10000)]) assert.match(pairingCode(s), /^\d{6}$/);
});

test('pairingCode zero-pads to six digits', () => {
  // find an input whose code is below 100000 and check it keeps its leading zero
  let found = '';
  for (let i = 0; i < 100000 && !found; i++) if (pairingCode(String(i)).startsWith('0')) found = String(i);
  assert.ok(found);
  assert.match(pairingCode(found), /^0\d{5}$/);
});

test('newReqid: 16 lowercase hex, unique', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10000; i++) {
    const id = newReqid();
    assert.match(id, /^[0-9a-f]{16}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 10000);
});

test('newNonce: 32 lowercase hex, unique', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10000; i++) {
    const n = newNonce();
    assert.match(n, /^[0-9a-f]{32}$/);
    seen.add(n);
  }
  assert.equal(seen.size, 10000);
});

test('randomSerialHex: 32 canonical hex digits with a letter, read identically by upstream', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20000; i++) {
    const s = randomSerialHex();
    assert.match(s, /^[1-9a-f][0-9a-f]{31}$/);
    assert.match(s, /[a-f]/);
    assert.equal(canonicalSerialHex(s), s);
    assert.equal(legacySerial(s), s);
    assert.equal(legacySerial(s.toUpperCase()), s);
    seen.add(s);
  }
  assert.equal(seen.size, 20000);
});

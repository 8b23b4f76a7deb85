import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputCapture, omittedMarker } from './output-capture.js';

test('under the cap: everything kept verbatim, not truncated', () => {
  const c = new OutputCapture(100);
  c.push(Buffer.from('hello '));
  c.push(Buffer.from('wörld'));
  assert.deepEqual(c.result(), { text: 'hello wörld', truncated: false, bytes: 12 });
});

test('exactly at the cap: not truncated; one byte more: truncated with head, marker, tail', () => {
  const exact = new OutputCapture(10);
  exact.push(Buffer.from('0123456789'));
  assert.deepEqual(exact.result(), { text: '0123456789', truncated: false, bytes: 10 });

  const over = new OutputCapture(10);
  over.push(Buffer.from('0123456789X'));
  assert.deepEqual(over.result(), { text: `01234${omittedMarker(1)}6789X`, truncated: true, bytes: 11 });
});

test('head and tail survive many small and large chunks; memory stays at the cap', () => {
  const c = new OutputCapture(1000);
  c.push(Buffer.from('HEAD:'));
  for (let i = 0; i < 10_000; i++) c.push(Buffer.from(`line ${i}\n`));
  c.push(Buffer.alloc(100_000, 'z'));
  c.push(Buffer.from(':TAIL'));
  assert.ok(c.retainedBytes <= 1000);
  const r = c.result();
  assert.equal(r.truncated, true);
  assert.ok(r.text.startsWith('HEAD:line 0\nline 1\n'));
  assert.ok(r.text.endsWith(`${'z'.repeat(495)}:TAIL`));
  assert.equal(r.text.length, 1000 + omittedMarker(r.bytes - 1000).length);
  assert.ok(r.text.includes(omittedMarker(r.bytes - 1000)));
});

test('tail ring wraps correctly across uneven chunk sizes', () => {
  const c = new OutputCapture(8); // head 4, tail 4
  const all = 'abcdefghijklmnopqrstuvwxyz';
  for (const piece of ['ab', 'cde', 'f', 'ghij', 'klm', 'n', 'opqrstu', 'vw', 'x', 'yz']) c.push(Buffer.from(piece));
  assert.equal(c.result().text, `abcd${omittedMarker(all.length - 8)}wxyz`);
});

test('cuts inside multi-byte characters move to character boundaries (no spurious U+FFFD)', () => {
  const c = new OutputCapture(101); // head 50 bytes, tail 51 bytes
  c.push(Buffer.from('é'.repeat(1000))); // 2000 bytes
  const r = c.result();
  assert.equal(r.bytes, 2000);
  assert.ok(!r.text.includes('\uFFFD'));
  assert.equal(r.text, `${'é'.repeat(25)}${omittedMarker(1900)}${'é'.repeat(25)}`);

  const four = new OutputCapture(10);
  four.push(Buffer.from('🎉'.repeat(10))); // 40 bytes; head 5 -> one emoji, tail 5 -> one emoji
  assert.equal(four.result().text, `🎉${omittedMarker(32)}🎉`);
});

test('invalid UTF-8 is replaced, never thrown; a BOM is kept', () => {
  const c = new OutputCapture(100);
  c.push(Buffer.from([0xef, 0xbb, 0xbf, 0xff, 0xfe, 0x6f, 0x6b, 0xc3]));
  assert.equal(c.result().text, '\uFEFF\uFFFD\uFFFDok\uFFFD');

  const cut = new OutputCapture(4);
  cut.push(Buffer.from([0xff, 0xff, 0x80, 0x80, 0x80, 0x80, 0xfe, 0xfe]));
  const r = cut.result();
  assert.equal(r.truncated, true);
  assert.ok(r.text.startsWith('\uFFFD\uFFFD'));
  assert.ok(r.text.endsWith('\uFFFD\uFFFD'));
});

test('nonsense caps fall back to a 1-byte budget instead of throwing', () => {
  for (const bad of [0, -5, Number.NaN, 1.5]) {
    const c = new OutputCapture(bad);
    c.push(Buffer.from('abc'));
    assert.equal(c.bytes, 3);
    assert.ok(c.retainedBytes <= 1);
  }
});

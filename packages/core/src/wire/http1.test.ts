import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageReader, encodeJsonResponse, encodeJsonRequest, isReadFailure, parseStatusLine, parseJsonObject, reasonPhrase } from './http1.js';

test('encodes responses in upstream framing', () => {
  const buf = encodeJsonResponse(200, { status: 'pending', reqid: 'ab' });
  assert.equal(buf.toString(), 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 34\r\n\r\n{"status":"pending","reqid":"ab"}'.replace('34', String(Buffer.byteLength('{"status":"pending","reqid":"ab"}'))));
  assert.equal(reasonPhrase(431), 'Request Header Fields Too Large');
  assert.equal(reasonPhrase(418), 'Unknown');
});

test('reads two responses from one stream, split at every byte', () => {
  const a = encodeJsonResponse(200, { status: 'pending', reqid: '0123456789abcdef' });
  const b = encodeJsonResponse(200, { status: 'approved', cert: 'x'.repeat(3000), nonce: 'é' });
  const all = Buffer.concat([a, b]);
  const reader = new MessageReader();
  const got: unknown[] = [];
  for (let i = 0; i < all.length; i++) {
    reader.push(all.subarray(i, i + 1));
    for (;;) {
      const m = reader.next();
      if (m === undefined) break;
      assert.ok(!isReadFailure(m));
      assert.equal(parseStatusLine(m.startLine), 200);
      got.push(parseJsonObject(m.body));
    }
  }
  assert.equal(got.length, 2);
  assert.deepEqual(got[1], { status: 'approved', cert: 'x'.repeat(3000), nonce: 'é' });
});

test('LF-only heads are accepted; headers lower-cased, first wins', () => {
  const reader = new MessageReader();
  reader.push(Buffer.from('POST /pair HTTP/1.0\nCONTENT-LENGTH: 2\ncontent-length: 99\n\n{}'));
  const m = reader.next();
  assert.ok(m && !isReadFailure(m));
  assert.equal(m.headers['content-length'], '2');
  assert.equal(m.body.toString(), '{}');
  assert.equal(encodeJsonRequest('POST', '/pair', {}).toString(), 'POST /pair HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
});

test('limits: oversize body refused before it arrives, header count, head size, bad length', () => {
  const r1 = new MessageReader({ maxBodyBytes: 65536 });
  r1.push(Buffer.from('POST / HTTP/1.0\r\nContent-Length: 65537\r\n\r\n'));
  assert.deepEqual(r1.next(), { kind: 'body-too-large', length: 65537 });

  const r2 = new MessageReader({ maxHeaders: 32 });
  r2.push(Buffer.from(`GET / HTTP/1.0\r\n${Array.from({ length: 33 }, (_, i) => `X-${i}: a\r\n`).join('')}\r\n`));
  assert.deepEqual(r2.next(), { kind: 'too-many-headers', count: 33 });

  const r3 = new MessageReader({ maxHeadBytes: 100 });
  r3.push(Buffer.alloc(200, 0x41));
  assert.deepEqual(r3.next(), { kind: 'head-too-large' });

  const r4 = new MessageReader();
  r4.push(Buffer.from('POST / HTTP/1.0\r\nContent-Length: -5\r\n\r\n'));
  assert.deepEqual(r4.next(), { kind: 'bad-length' });
});

test('non-status lines and non-object JSON are protocol errors', () => {
  assert.throws(() => parseStatusLine('SSH-2.0-OpenSSH'), { code: 'CE_ERR_PROTOCOL' });
  assert.throws(() => parseJsonObject(Buffer.from('[1]')), { code: 'CE_ERR_INVALID_JSON' });
  assert.throws(() => parseJsonObject(Buffer.from('{bad')), { code: 'CE_ERR_INVALID_JSON' });
});

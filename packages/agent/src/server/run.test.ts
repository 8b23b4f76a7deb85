import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRunRequest } from './run.js';
import { loggableReqid, perlTruthy } from './http.js';
import { matchRoute } from './server.js';
import { normaliseIp } from './peer.js';

test('decodeRunRequest: defaults and refusals', () => {
  const ok = decodeRunRequest(Buffer.from('{"script":"s","reqid":"r","async":true,"token":"t","username":"u"}'));
  assert.deepEqual(ok, { ok: true, req: { script: 's', args: [], reqid: 'r', username: 'u', token: 't', async: true } });
  const typed = decodeRunRequest(Buffer.from('{"script":5,"reqid":7,"args":null,"username":["x"]}'));
  assert.deepEqual(typed, { ok: true, req: { script: '', args: [], reqid: '', username: '', token: '', async: false } });
  assert.deepEqual(decodeRunRequest(Buffer.from('nope')), { ok: false, reply: { status: 200, body: { exit: -1, error: 'invalid JSON' } } });
  assert.deepEqual(decodeRunRequest(Buffer.from('{"args":"a","reqid":"r"}')), {
    ok: false,
    reply: { status: 200, body: { exit: -1, error: 'args must be an array', reqid: 'r' } },
  });
  const proto = decodeRunRequest(Buffer.from('{"__proto__":{"args":["x"]},"script":"s"}'));
  assert.deepEqual(proto.ok && proto.req.args, []);
});

test('async is Perl truth', () => {
  for (const v of [true, 1, '1', 'yes', 'true', [], {}]) assert.equal(perlTruthy(v), true, JSON.stringify(v));
  for (const v of [false, 0, '0', '', null, undefined]) assert.equal(perlTruthy(v), false, JSON.stringify(v));
});

test('routes are matched exactly', () => {
  assert.deepEqual(matchRoute('POST', '/run'), { kind: 'run' });
  assert.deepEqual(matchRoute('GET', '/result/ab-C_1'), { kind: 'result', reqid: 'ab-C_1' });
  for (const [m, u] of [['post', '/run'], ['POST', '/run/'], ['GET', '/result/'], ['GET', '/result/a.b'], ['GET', '/result/a/b'], ['PUT', '/ping'], ['GET', '/ping']]) {
    assert.equal(matchRoute(m, u), undefined, `${m} ${u}`);
  }
});

test('helpers: reqids for logs, peer addresses', () => {
  assert.equal(loggableReqid('abc-1.2'), 'abc-1.2');
  for (const v of [undefined, 5, '', 'a b', 'x'.repeat(65), 'a\nb']) assert.equal(loggableReqid(v), '(none)');
  assert.equal(normaliseIp('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(normaliseIp('::1'), '::1');
  assert.equal(normaliseIp(undefined), undefined);
});

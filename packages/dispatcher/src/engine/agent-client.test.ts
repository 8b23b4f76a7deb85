import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { CtrlExecError } from '@ctrl-exec/core';
import { AgentClient, AgentRequestError, translateTransportError, type AgentTarget } from './agent-client.js';
import { startFakeAgent, type FakeAgentOptions } from './testing/fake-agent.js';
import { sharedPki, type Pki } from './testing/fixtures.js';

const target = (port: number, name = 'h1'): AgentTarget => ({ name, address: '127.0.0.1', port });

function client(pki: Pki, readTimeout = 5, extra: { maxResponseBytes?: number; keepAlive?: boolean; maxSocketsPerHost?: number } = {}): AgentClient {
  return new AgentClient({ cert: readFileSync(pki.certPath), key: readFileSync(pki.keyPath), ca: readFileSync(pki.caCertPath), readTimeout, ...extra });
}

async function failure(p: Promise<unknown>): Promise<AgentRequestError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AgentRequestError, String(err));
    return err;
  }
  assert.fail('expected a failure');
}

async function listen(server: Server | ReturnType<typeof createHttpServer>, t: { after(fn: () => unknown): void }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

async function fake(t: { after(fn: () => unknown): void }, pki: Pki, options: Partial<FakeAgentOptions> = {}) {
  const { key, cert } = await pki.issue('agent');
  const agent = await startFakeAgent({ key, cert, ca: pki.ca.certPem, scripts: { hello: { stdout: 'hi' } }, ...options });
  t.after(() => agent.close());
  return agent;
}

test('transport errors are worded as upstream words them, with a stable code', () => {
  const t = target(7443, 'web-01');
  const err = (code: string) => Object.assign(new Error(code), { code });
  const before = { connected: false, secured: false, responding: false };
  const handshake = { connected: true, secured: false, responding: false };
  const after = { connected: true, secured: true, responding: true };
  const cases: Array<[Error, typeof before, string, string]> = [
    [err('ENOTFOUND'), before, 'CE_ERR_UNREACHABLE', "host 'web-01' did not resolve - check the name or use an IP address"],
    [err('EAI_AGAIN'), before, 'CE_ERR_UNREACHABLE', "host 'web-01' did not resolve - check the name or use an IP address"],
    [err('ECONNREFUSED'), before, 'CE_ERR_UNREACHABLE', "host 'web-01' did not respond on port 7443 - connection refused (agent not running, or wrong port?)"],
    [err('EHOSTUNREACH'), before, 'CE_ERR_UNREACHABLE', "host 'web-01' is unreachable - no route to host or network down"],
    [err('ENETUNREACH'), before, 'CE_ERR_UNREACHABLE', "host 'web-01' is unreachable - no route to host or network down"],
    [err('ETIMEDOUT'), before, 'CE_ERR_UNREACHABLE', "host 'web-01' did not respond - connection timed out"],
    [err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), handshake, 'CE_ERR_TLS', "TLS handshake with 'web-01' failed - certificate or trust mismatch"],
    [err('ERR_SSL_WRONG_VERSION_NUMBER'), handshake, 'CE_ERR_TLS', "TLS handshake with 'web-01' failed - certificate or trust mismatch"],
    [err('ECONNRESET'), handshake, 'CE_ERR_TLS', "TLS handshake with 'web-01' failed - certificate or trust mismatch"],
    [err('ECONNRESET'), after, 'CE_ERR_PROTOCOL', "connection to 'web-01' closed before a complete response"],
  ];
  for (const [e, phase, code, message] of cases) {
    const out = translateTransportError(e, t, phase, 12);
    assert.equal(out.code, code, e.message);
    assert.equal(out.message, message, e.message);
    assert.equal(out.rttMs, 12);
  }
  assert.ok(translateTransportError(err('ENOTFOUND'), t, before, 0) instanceof CtrlExecError);
});

test('not a TLS agent: a port that closes at once, a plain HTTP server; a silent one times out', async (t) => {
  const pki = await sharedPki();
  const c = client(pki, 1);
  t.after(() => c.close());
  const closer = createTcpServer((s: Socket) => s.destroy());
  const closerPort = await listen(closer, t);
  const plain = createHttpServer((_req, res) => res.end('{}'));
  const plainPort = await listen(plain, t);
  const sockets: Socket[] = [];
  const silent = createTcpServer((s: Socket) => sockets.push(s));
  t.after(() => sockets.forEach((s) => s.destroy()));
  const silentPort = await listen(silent, t);

  for (const port of [closerPort, plainPort]) {
    const e = await failure(c.call(target(port), 'POST', '/ping', {}));
    assert.equal(e.code, 'CE_ERR_TLS', `${port}: ${e.message}`);
    assert.equal(e.kind, 'tls');
  }
  const started = Date.now();
  const e = await failure(c.call(target(silentPort), 'POST', '/ping', {}));
  assert.equal(e.code, 'CE_ERR_TIMEOUT');
  assert.equal(e.message, 'read timeout after 1s');
  assert.ok(Date.now() - started < 3000);
});

test('responses: an oversized body is refused; a JSON array is not a JSON object', async (t) => {
  const pki = await sharedPki();
  const big = await fake(t, pki, { scripts: { hello: { stdout: 'x'.repeat(5000) } } });
  const arr = await fake(t, pki, { raw: { status: 200, body: '[1,2,3]' } });
  const c = client(pki, 5, { maxResponseBytes: 1000 });
  t.after(() => c.close());
  const e = await failure(c.call(target(big.port), 'POST', '/run', { script: 'hello', args: [], reqid: 'ab', username: '', token: '' }));
  assert.equal(e.code, 'CE_ERR_PROTOCOL');
  assert.equal(e.kind, 'response-too-large');
  assert.equal((await failure(c.call(target(arr.port), 'POST', '/run', {}))).message, 'invalid JSON response');
  // a GET carries Content-Length: 0 and no body
  await c.call(target(big.port), 'GET', '/capabilities');
  assert.equal(big.requests.at(-1)!.headers['content-length'], '0');
});

test('a pooled connection that dies unanswered: safe requests are retried on a new one, /run is not', async (t) => {
  const pki = await sharedPki();
  const flaky = await fake(t, pki, { dropNth: 2 });
  const c = client(pki);
  t.after(() => c.close());
  await c.call(target(flaky.port), 'GET', '/capabilities');
  const again = await c.call(target(flaky.port), 'GET', '/capabilities');
  assert.equal(again.status, 200);
  assert.equal(flaky.connections(), 2);

  await c.call(target(flaky.port), 'POST', '/ping', { reqid: 'aa' });
  const e = await failure(c.call(target(flaky.port), 'POST', '/run', { script: 'hello', args: [], reqid: 'bb', username: '', token: '' }));
  assert.equal(e.code, 'CE_ERR_PROTOCOL');
  assert.equal(e.message, "connection to 'h1' closed before a complete response");
  assert.equal(flaky.requests.filter((r) => r.path === '/run').length, 0, 'the /run was dropped and not sent again');
});

test('an agent that closes after every answer (as upstream does) still gets TLS session resumption', async (t) => {
  const pki = await sharedPki();
  const oneShot = await fake(t, pki, { closeEach: true });
  const c = client(pki);
  t.after(() => c.close());
  for (let i = 0; i < 4; i++) await c.call(target(oneShot.port), 'POST', '/ping', { reqid: 'cc' });
  assert.equal(oneShot.connections(), 4);
  assert.ok(oneShot.resumed() >= 2, `resumed ${oneShot.resumed()} of 4`);
});

test('keepAlive false (agent_keepalive = 0): every request its own connection and full handshake', async (t) => {
  const pki = await sharedPki();
  const agent = await fake(t, pki);
  const pooled = client(pki);
  t.after(() => pooled.close());
  for (let i = 0; i < 3; i++) await pooled.call(target(agent.port), 'POST', '/ping', { reqid: 'dd' });
  assert.equal(agent.connections(), 1, 'the pool reuses one connection');

  const single = client(pki, 5, { keepAlive: false, maxSocketsPerHost: 2 });
  t.after(() => single.close());
  for (let i = 0; i < 3; i++) await single.call(target(agent.port), 'POST', '/ping', { reqid: 'ee' });
  assert.equal(agent.connections(), 4);
  // requests queued behind the connection limit do not take over a finished request's connection
  await Promise.all(Array.from({ length: 6 }, () => single.call(target(agent.port), 'POST', '/ping', { reqid: 'ff' })));
  assert.equal(agent.connections(), 10);
  assert.equal(agent.resumed(), 0, 'no TLS session is resumed');
});

test('unusable TLS material and files are refused up front', async () => {
  assert.throws(() => new AgentClient({ cert: 'nope', key: 'nope', ca: 'nope', readTimeout: 5 }), (e: CtrlExecError) => e.code === 'CE_ERR_CERT_MISSING');
  assert.throws(
    () => AgentClient.fromFiles({ cert: '/nonexistent/c', key: '/nonexistent/k', ca: '/nonexistent/ca' }, { readTimeout: 5 }),
    (e: CtrlExecError) => e.code === 'CE_ERR_CERT_MISSING' && /setup-ctrl-exec/.test(e.message),
  );
  const pki = await sharedPki();
  assert.throws(
    () => new AgentClient({ cert: readFileSync(pki.certPath), key: readFileSync(pki.keyPath), ca: readFileSync(pki.caCertPath), readTimeout: 0 }),
    (e: CtrlExecError) => e.code === 'CE_ERR_CONFIG_VALUE',
  );
});

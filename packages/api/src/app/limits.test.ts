/**
 * Request limits over real sockets (features 124-126): header lines, body size, requests
 * in flight, requests node cannot parse, and TLS on the listener.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CtrlExecError, type AuditLogger } from '@ctrl-exec/core';
import { apiAuditLogger } from './audit.js';
import { startApi, type RunningApi } from './start.js';
import { makeApiEnv, tokenHook, waitFor, type ApiEnv, type Teardown } from '../testing/fixtures.js';
import { httpRequest, parseRawResponse, rawHttp } from '../testing/http.js';

async function listening(t: Teardown, env: ApiEnv): Promise<{ api: RunningApi; audit: AuditLogger; lines: string[] }> {
  const lines: string[] = [];
  const config = env.config();
  const audit = apiAuditLogger(config);
  const api = await startApi({ config, audit, processMetrics: false, docs: false, print: (l) => lines.push(l), warn: () => undefined });
  env.own(() => api.stop());
  return { api, audit, lines };
}

function requestWithHeaders(count: number): string {
  const lines = ['GET /health HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close'];
  for (let i = lines.length - 1; i < count; i++) lines.push(`X-Extra-${i}: ${i}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

test('32 header lines are fine, 33 are 431 in the envelope', async (t) => {
  const env = await makeApiEnv(t);
  const { api, lines } = await listening(t, env);
  assert.deepEqual(lines, [`ctrl-exec API listening on 127.0.0.1:${api.port} (plain HTTP)`]);
  const ok = parseRawResponse(await rawHttp(api.port, requestWithHeaders(32)));
  assert.equal(ok.status, 200);
  const tooMany = parseRawResponse(await rawHttp(api.port, requestWithHeaders(33)));
  assert.equal(tooMany.status, 431);
  assert.deepEqual(tooMany.body, { ok: false, error: 'request header fields too large', detail: 'more than 32 header lines' });
  assert.match(tooMany.headers, /content-type: application\/json/i);
});

test('a body of 1 MiB + 1 byte is 413; exactly 1 MiB is read', async (t) => {
  const env = await makeApiEnv(t);
  const { api } = await listening(t, env);
  const big = await httpRequest(`${api.url}/run`, { method: 'POST', rawBody: Buffer.alloc(1_048_577, 0x20) });
  assert.equal(big.status, 413);
  assert.deepEqual(big.json, { ok: false, error: 'payload too large', detail: 'body exceeds 1048576 bytes' });
  // Only the Content-Length header: the body is never sent.
  const announced = parseRawResponse(await rawHttp(api.port, 'POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\nConnection: close\r\n\r\n'));
  assert.equal(announced.status, 413);
  assert.deepEqual(announced.body, { ok: false, error: 'payload too large', detail: 'body exceeds 1048576 bytes' });
  // Chunked, no length given: counted as it arrives.
  const chunk = Buffer.alloc(600_000, 0x20);
  const chunked = `POST /run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
  const streamed = parseRawResponse(await rawHttp(api.port, chunked));
  assert.equal(streamed.status, 413);
  assert.equal(streamed.body?.error, 'payload too large');
  const fits = await httpRequest(`${api.url}/run`, { method: 'POST', rawBody: Buffer.alloc(1_048_576, 0x20) });
  assert.equal(fits.status, 400);
  assert.deepEqual(fits.json, { ok: false, error: 'bad request', detail: 'request body required' });
});

test('more than api_max_children requests in flight: 503 and api-overload', async (t) => {
  const env = await makeApiEnv(t, { api_max_children: 1 });
  const hook = tokenHook(env, 'never', { sleepOnToken: 'slow', allowEmptyFor: ['api'] });
  env.configure({ auth_hook: hook.path });
  const { api, audit } = await listening(t, env);
  const slow = httpRequest(`${api.url}/ping`, { body: { hosts: ['x'], token: 'slow' } });
  await waitFor(() => hook.calls().some((c) => c.token === 'slow'), 10_000, 'the slow request');
  const refused = await httpRequest(`${api.url}/health`);
  assert.equal(refused.status, 503);
  assert.deepEqual(refused.json, { ok: false, error: 'service unavailable', detail: 'too many concurrent requests' });
  const held = await slow;
  assert.equal(held.status, 404, 'the held request finishes normally (x is not a registered agent)');
  const after = await httpRequest(`${api.url}/health`);
  assert.equal(after.status, 200);
  await audit.flush();
  const overload = env.audit().find((e) => e.action === 'api-overload');
  assert.ok(overload);
  assert.equal(overload.live, 1);
  assert.equal(overload.peer, '127.0.0.1');
  assert.equal(overload.level, 'warning');
});

test('requests node cannot parse are answered in the envelope too', async (t) => {
  const env = await makeApiEnv(t);
  const { api } = await listening(t, env);
  const garbage = parseRawResponse(await rawHttp(api.port, 'THIS IS NOT HTTP\r\n\r\n'));
  assert.equal(garbage.status, 400);
  assert.deepEqual(garbage.body, { ok: false, error: 'bad request', detail: 'malformed request' });
  const huge = parseRawResponse(await rawHttp(api.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
  assert.equal(huge.status, 431);
  assert.equal(huge.body?.ok, false);
  assert.equal(huge.body?.error, 'request header fields too large');
});

test('api_cert and api_key: TLS with the shared policy, announced as (TLS)', async (t) => {
  const env = await makeApiEnv(t);
  const { key, cert } = await env.pki.issue('ctrl-exec-api');
  const certPath = join(env.dir, 'api.crt');
  const keyPath = join(env.dir, 'api.key');
  writeFileSync(certPath, cert);
  writeFileSync(keyPath, key, { mode: 0o600 });
  env.configure({ api_cert: certPath, api_key: keyPath });
  const { api, audit, lines } = await listening(t, env);
  assert.equal(api.tls, true);
  assert.deepEqual(lines, [`ctrl-exec API listening on 127.0.0.1:${api.port} (TLS)`]);
  const r = await httpRequest(`https://127.0.0.1:${api.port}/health`, { ca: env.pki.ca.certPem });
  assert.equal(r.status, 200);
  assert.equal(r.json?.ok, true);
  const plain = await rawHttp(api.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(parseRawResponse(plain).status, 0, 'plain HTTP gets no HTTP answer');
  await audit.flush();
  const start = env.audit().find((e) => e.action === 'api-start');
  assert.deepEqual({ bind: start?.bind, port: start?.port, tls: start?.tls }, { bind: '127.0.0.1', port: api.port, tls: 'yes' });
});

test('half a TLS setup, or an unreadable certificate, is a configuration error (never plain HTTP)', async (t) => {
  const env = await makeApiEnv(t);
  env.configure({ api_cert: join(env.dir, 'api.crt') });
  await assert.rejects(startApi({ config: env.config(), processMetrics: false, print: () => undefined }), (err: unknown) => {
    assert.ok(err instanceof CtrlExecError);
    assert.equal(err.code, 'CE_ERR_CONFIG_VALUE');
    assert.equal(err.exitCode, 78);
    return true;
  });
  env.configure({ api_key: join(env.dir, 'api.key') });
  await assert.rejects(startApi({ config: env.config(), processMetrics: false, print: () => undefined }), (err: unknown) => {
    assert.ok(err instanceof CtrlExecError);
    assert.equal(err.code, 'CE_ERR_CONFIG_VALUE');
    return true;
  });
  writeFileSync(join(env.dir, 'api.crt'), 'not a certificate');
  writeFileSync(join(env.dir, 'api.key'), 'not a key');
  await assert.rejects(startApi({ config: env.config(), processMetrics: false, print: () => undefined }), { code: 'CE_ERR_CONFIG_VALUE' });
});

test('a port already in use is reported, not a crash', async (t) => {
  const env = await makeApiEnv(t);
  const { api } = await listening(t, env);
  env.configure({ api_port: api.port });
  await assert.rejects(startApi({ config: env.config(), processMetrics: false, print: () => undefined }), (err: unknown) => {
    assert.ok(err instanceof CtrlExecError);
    assert.match(err.message, /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    return true;
  });
});

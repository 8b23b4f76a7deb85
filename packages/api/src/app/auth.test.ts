/**
 * Auth through the API (features 110-117, 127, 134): the pre-route `api` gate, the
 * per-endpoint actions, api_auth_default, auth_deny_generic, hook timeouts, and tokens
 * never reaching the audit log.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { AuditLogger } from '@ctrl-exec/core';
import { apiAuditLogger } from './audit.js';
import { buildApiServer } from './build.js';
import { makeApiEnv, sharedTeardown, startAgent, tokenHook, type ApiEnv, type RealAgent } from '../testing/fixtures.js';

const shared = sharedTeardown();
let env: ApiEnv;
let agent: RealAgent;

before(async () => {
  env = await makeApiEnv(shared);
  agent = await startAgent(env, 'agent-h', { echo: 'echo "hi:$1"', slow: 'sleep 1; echo slow' });
});

after(() => shared.run());

async function serverWith(settings: Record<string, string | number>, t: { after(fn: () => Promise<void>): void }): Promise<{ app: FastifyInstance; audit: AuditLogger }> {
  // Settings a test leaves out must not linger from the one before.
  env.configure({ api_auth_default: 'deny', auth_deny_generic: 'no', auth_hook_timeout: 10, auth_hook: undefined, ...settings });
  const config = env.config();
  const audit = apiAuditLogger(config);
  const app = await buildApiServer({ config, audit, processMetrics: false, docs: false, statusPollMs: 50 });
  t.after(async () => {
    await app.close();
    await audit.close();
  });
  return { app, audit };
}

async function call(app: FastifyInstance, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const r = await app.inject({ method: method as 'GET', url, ...(payload !== undefined ? { payload: payload as string } : {}), headers });
  return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown>, raw: r.body, headers: r.headers };
}

test('api_auth_default = deny without a hook: 403 code 1 everywhere gated; /health and /metrics stay open', async (t) => {
  const { app, audit } = await serverWith({ api_auth_default: 'deny' }, t);
  const run = await call(app, 'POST', '/run', { hosts: ['agent-h'], script: 'echo' });
  assert.equal(run.status, 403);
  assert.deepEqual(run.body, { ok: false, error: 'no auth hook configured', code: 1 });
  for (const [method, url] of [['GET', '/'], ['POST', '/ping'], ['GET', '/discovery'], ['GET', '/status/abc'], ['GET', '/openapi.json'], ['GET', '/no/such/route']]) {
    const r = await call(app, method!, url!);
    assert.equal(r.status, 403, `${method} ${url} is gated (a denied caller gets 403, not 404)`);
    assert.deepEqual(r.body, { ok: false, error: 'no auth hook configured', code: 1 });
  }
  const health = await call(app, 'GET', '/health');
  assert.equal(health.status, 200);
  assert.equal(health.body.ok, true);
  const metrics = await app.inject({ url: '/metrics' });
  assert.equal(metrics.statusCode, 200);
  await audit.flush();
  const deny = env.audit().find((e) => e.action === 'auth' && e.result === 'deny' && e.reason === 'no-hook-deny');
  assert.ok(deny, 'the denial is audited');
  assert.equal(deny.authaction, 'api');
  assert.equal(deny.ip, '127.0.0.1');
});

test('api_auth_default = allow without a hook: everything passes (REASON=no-hook-allow)', async (t) => {
  const { app, audit } = await serverWith({ api_auth_default: 'allow' }, t);
  const run = await call(app, 'POST', '/run', { hosts: ['agent-h'], script: 'echo', args: ['x'] });
  assert.equal(run.status, 200);
  await audit.flush();
  const actions = env.audit().filter((e) => e.action === 'auth' && e.reason === 'no-hook-allow').map((e) => e.authaction);
  assert.ok(actions.includes('api') && actions.includes('run'));
});

test('auth_deny_generic: the denial body is only {"ok":false,"error":"forbidden"}; the reason is still logged', async (t) => {
  const { app, audit } = await serverWith({ api_auth_default: 'deny', auth_deny_generic: 'yes' }, t);
  const r = await call(app, 'POST', '/run', { hosts: ['agent-h'], script: 'echo' });
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { ok: false, error: 'forbidden' });
  await audit.flush();
  assert.ok(env.audit().some((e) => e.action === 'auth' && e.reason === 'no-hook-deny'));
});

test('a hook allowing only token T: /run with T runs, other tokens get 403 with the hook\'s exit code', async (t) => {
  const hook = tokenHook(env, 'T-secret-1', { allowEmptyFor: ['api'] });
  const { app, audit } = await serverWith({ auth_hook: hook.path }, t);

  const ok = await call(app, 'POST', '/run', { hosts: ['agent-h'], script: 'echo', args: ['tok'], token: 'T-secret-1', username: 'alice' });
  assert.equal(ok.status, 200);
  assert.equal((ok.body.results as Array<Record<string, unknown>>)[0]?.stdout, 'hi:tok\n');

  const none = await call(app, 'POST', '/run', { hosts: ['agent-h'], script: 'echo' });
  assert.equal(none.status, 403);
  assert.deepEqual(none.body, { ok: false, error: 'denied', code: 1 });
  for (const [token, error, code] of [
    ['wrong-token', 'denied', 1],
    ['bad-creds', 'bad credentials', 2],
    ['low-priv', 'insufficient privilege', 3],
    ['seven', 'hook exited 7', 7],
  ] as const) {
    const r = await call(app, 'POST', '/run', { hosts: ['agent-h'], script: 'echo', token });
    assert.equal(r.status, 403, token);
    assert.deepEqual(r.body, { ok: false, error, code }, token);
  }

  // The hook saw the gate first, then the run, with the request's context.
  const calls = hook.calls();
  const first = calls.findIndex((c) => c.token === 'T-secret-1');
  assert.equal(calls[first]?.action, 'api');
  assert.equal(calls[first]?.script, '');
  assert.equal(calls[first + 1]?.action, 'run');
  assert.equal(calls[first + 1]?.script, 'echo');
  assert.equal(calls[first + 1]?.hosts, 'agent-h');
  assert.equal(calls[first + 1]?.username, 'alice');
  assert.equal(calls[first + 1]?.source_ip, '127.0.0.1');

  // Tokens never reach the audit log.
  await audit.flush();
  const text = env.auditText();
  assert.ok(text.includes('"authaction":"run"'));
  for (const secret of ['T-secret-1', 'wrong-token', 'bad-creds', 'low-priv']) assert.equal(text.includes(secret), false, secret);
});

test('/status: Bearer T sees the record; no or another token gets the same 404 as an unknown reqid', async (t) => {
  const hook = tokenHook(env, 'T-status-2', { allowEmptyFor: ['api'] });
  const { app, audit } = await serverWith({ auth_hook: hook.path }, t);
  const run = await call(app, 'POST', '/run', { hosts: ['agent-h'], script: 'echo', token: 'T-status-2', username: 'dave' });
  assert.equal(run.status, 200);
  const reqid = String(run.body.reqid);
  const notFound = { ok: false, error: 'not found', detail: `no result for reqid ${reqid}` };

  const seen = await call(app, 'GET', `/status/${reqid}`, undefined, { authorization: 'Bearer T-status-2' });
  assert.equal(seen.status, 200);
  assert.equal(seen.body.reqid, reqid);
  assert.equal('submitter' in seen.body, false);
  const lower = await call(app, 'GET', `/status/${reqid}`, undefined, { authorization: 'bearer   T-status-2  ' });
  assert.equal(lower.status, 200);

  for (const headers of [{} as Record<string, string>, { authorization: 'Bearer nope-x' }, { authorization: 'Basic VC1zdGF0dXMtMg==' }, { authorization: 'T-status-2' }]) {
    const r = await call(app, 'GET', `/status/${reqid}`, undefined, headers);
    assert.equal(r.status, 404, JSON.stringify(headers));
    assert.deepEqual(r.body, notFound);
  }

  const statusCall = hook.calls().find((c) => c.action === 'status' && c.token === 'T-status-2');
  assert.ok(statusCall);
  assert.equal(statusCall.reqid, reqid);
  assert.equal(statusCall.submitter, 'dave');
  assert.equal(statusCall.submitter_ip, '127.0.0.1');
  await audit.flush();
  assert.equal(env.auditText().includes('T-status-2'), false);
  assert.equal(env.auditText().includes('nope-x'), false);
});

test('/ping and /discovery ask the hook with action ping; an empty registry answers {} before it', async (t) => {
  const hook = tokenHook(env, 'T-ping-3', { allowEmptyFor: ['api'] });
  const { app } = await serverWith({ auth_hook: hook.path }, t);
  assert.equal((await call(app, 'POST', '/ping', { hosts: ['agent-h'], token: 'T-ping-3' })).status, 200);
  const denied = await call(app, 'POST', '/ping', { hosts: ['agent-h'] });
  assert.deepEqual(denied.body, { ok: false, error: 'denied', code: 1 });
  assert.equal((await call(app, 'POST', '/discovery', { token: 'T-ping-3' })).status, 200);
  assert.equal((await call(app, 'GET', '/discovery')).status, 403);
  const actions = hook.calls().filter((c) => c.token === 'T-ping-3').map((c) => c.action);
  assert.deepEqual(actions, ['api', 'ping', 'api', 'ping']);

  // No agent registered: {} without asking the ping action.
  env.registry.remove('agent-h');
  try {
    const before = hook.calls().length;
    const empty = await call(app, 'GET', '/discovery');
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { ok: true, hosts: {} });
    assert.deepEqual(hook.calls().slice(before).map((c) => c.action), ['api']);
  } finally {
    env.register('agent-h', agent.port);
  }
});

test('a hung hook is killed at auth_hook_timeout: denied with code 1 and auth-hook-timeout logged', async (t) => {
  const hook = env.executable('slow-hook', '#!/bin/sh\nsleep 20\nexit 0\n');
  const { app, audit } = await serverWith({ auth_hook: hook, auth_hook_timeout: 1 }, t);
  const started = Date.now();
  const r = await call(app, 'POST', '/run', { hosts: ['agent-h'], script: 'echo' });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 1);
  assert.ok(Date.now() - started < 8000);
  await audit.flush();
  assert.ok(env.audit().some((e) => e.action === 'auth-hook-timeout' && e.timeout === 1));
});

test('a missing hook denies with upstream\'s reason', async (t) => {
  const missing = `${env.dir}/no-such-hook`;
  const { app } = await serverWith({ auth_hook: missing }, t);
  const r = await call(app, 'GET', '/');
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { ok: false, error: `auth hook not found or not executable: ${missing}`, code: 1 });
});

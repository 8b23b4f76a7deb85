import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { makeServeEnv, readAudit, request, sleep, startAgent, waitForAudit } from './test-helpers.js';

test('allowed_ips: other addresses are dropped (ip-block)', async (t) => {
  const env = await makeServeEnv(t, { extra: { allowed_ips: '127.0.0.2' } });
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  await assert.rejects(request(agent.port, ca, { path: '/ping', identity: env.pki.dispatcher, body: { reqid: 'x' }, localAddress: '127.0.0.1' }));
  const line = await waitForAudit(env.audit, (e) => e.action === 'ip-block');
  assert.deepEqual([line.peer, line.level], ['127.0.0.1', 'warning']);
  const ok = await request(agent.port, ca, { path: '/ping', identity: env.pki.dispatcher, body: { reqid: 'y' }, localAddress: '127.0.0.2' });
  assert.equal(ok.status, 200);
  // No handshake happened for the dropped connection, so it is no probe failure.
  assert.equal(readAudit(env.audit).some((e) => e.action === 'tls-failure'), false);
});

test('volume limit: strangers are blocked, a trusted dispatcher never is', async (t) => {
  const env = await makeServeEnv(t);
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const { dispatcher, stranger } = env.pki;

  // 10 connections per 60 s from an untrusted certificate are answered (403)...
  for (let i = 0; i < 10; i++) {
    const r = await request(agent.port, ca, { path: '/ping', identity: stranger, body: { reqid: `s${i}` }, localAddress: '127.0.0.3' });
    assert.equal(r.status, 403, `connection ${i + 1}`);
  }
  // ...the 11th crosses the limit: dropped, and so is everything after it from that address.
  await assert.rejects(request(agent.port, ca, { path: '/ping', identity: stranger, body: {}, localAddress: '127.0.0.3' }));
  await assert.rejects(request(agent.port, ca, { path: '/ping', identity: stranger, body: {}, localAddress: '127.0.0.3' }));
  await assert.rejects(request(agent.port, ca, { path: '/ping', identity: dispatcher, body: {}, localAddress: '127.0.0.3' }));
  const blocks = readAudit(env.audit).filter((e) => e.action === 'rate-block');
  assert.deepEqual(
    blocks.map((e) => [e.peer, e.reason, e.level]),
    [['127.0.0.3', 'volume', 'warning']],
  );

  // A dispatcher polling with a new connection each time, far above 10 per minute.
  for (let i = 0; i < 30; i++) {
    const r = await request(agent.port, ca, { path: '/ping', identity: dispatcher, body: { reqid: `d${i}` }, localAddress: '127.0.0.4' });
    assert.equal(r.status, 200, `dispatcher request ${i + 1}`);
  }
  // And with a keep-alive pool.
  const pool = new https.Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => pool.destroy());
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      request(agent.port, ca, { path: '/ping', identity: dispatcher, body: { reqid: `p${i}` }, localAddress: '127.0.0.4', agent: pool }),
    ),
  );
  assert.ok(results.every((r) => r.status === 200));
  assert.equal(readAudit(env.audit).filter((e) => e.action === 'rate-block').length, 1);
});

test('probe limit: repeated handshake failures block the address', async (t) => {
  const env = await makeServeEnv(t, { extra: { rate_limit_probe: '2/600/3600' } });
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  for (let i = 0; i < 3; i++) {
    await assert.rejects(request(agent.port, ca, { path: '/ping', identity: null, body: {}, localAddress: '127.0.0.5' }));
  }
  await waitForAudit(env.audit, (e) => e.action === 'rate-block' && e.reason === 'probe' && e.peer === '127.0.0.5');
  await assert.rejects(request(agent.port, ca, { path: '/ping', identity: env.pki.dispatcher, body: {}, localAddress: '127.0.0.5' }));
  const ok = await request(agent.port, ca, { path: '/ping', identity: env.pki.dispatcher, body: {}, localAddress: '127.0.0.6' });
  assert.equal(ok.status, 200);
});

test('max_children: a connection beyond the cap is dropped (overload)', async (t) => {
  const env = await makeServeEnv(t, { extra: { max_children: '1' } });
  env.writeScripts([`wait = ${env.script('wait.sh', '#!/bin/sh\nsleep 1\necho waited\n')}`]);
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const slow = request(agent.port, ca, { path: '/run', identity: env.pki.dispatcher, body: { script: 'wait', args: [], reqid: 'slow' } });
  await sleep(300);
  await assert.rejects(request(agent.port, ca, { path: '/ping', identity: env.pki.dispatcher, body: {} }));
  const line = await waitForAudit(env.audit, (e) => e.action === 'overload');
  assert.deepEqual([line.live, line.peer], [1, '127.0.0.1']);
  assert.equal((await slow).body.stdout, 'waited\n');
  const after = await request(agent.port, ca, { path: '/ping', identity: env.pki.dispatcher, body: {} });
  assert.equal(after.status, 200);
});

test('rate_limit_disable: nothing is counted', async (t) => {
  const env = await makeServeEnv(t, { extra: { rate_limit_disable: 'yes', rate_limit_volume: '1/60/300' } });
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  for (let i = 0; i < 4; i++) {
    const r = await request(agent.port, ca, { path: '/ping', identity: env.pki.stranger, body: {} });
    assert.equal(r.status, 403);
  }
  assert.equal(readAudit(env.audit).some((e) => e.action === 'rate-block'), false);
});

test('a volume block ends after its block time and the address is served again', async (t) => {
  const env = await makeServeEnv(t, { extra: { rate_limit_volume: '2/60/2' } });
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const from = { identity: env.pki.stranger, localAddress: '127.0.0.7' };
  for (let i = 0; i < 2; i++) assert.equal((await request(agent.port, ca, { path: '/ping', body: {}, ...from })).status, 403);
  await assert.rejects(request(agent.port, ca, { path: '/ping', body: {}, ...from }));
  await waitForAudit(env.audit, (e) => e.action === 'rate-block' && e.peer === '127.0.0.7');
  await sleep(2200);
  const again = await request(agent.port, ca, { path: '/ping', body: {}, ...from });
  assert.equal(again.status, 403, 'answered again (403: the stranger is still not trusted)');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { makeServeEnv, readAudit, request, sleep, startAgent, waitForAudit } from './test-helpers.js';

test('SIGHUP reloads the allowlist, map, revocations and safe agent.conf keys', async (t) => {
  const env = await makeServeEnv(t);
  const slowPath = env.script('slow.sh', '#!/bin/sh\nsleep 1.5\necho slow done\n');
  const addedPath = env.script('added.sh', '#!/bin/sh\necho added\n');
  env.writeScripts([`slow = ${slowPath}`]);
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const { dispatcher, dispatcher2, stranger } = env.pki;
  const run = (script: string, identity = dispatcher) =>
    request(agent.port, ca, { path: '/run', identity, body: { script, args: [], reqid: `r-${script}` } });
  let hups = 0;
  const hup = async () => {
    hups++;
    const before = readAudit(env.audit).length;
    agent.proc.kill('SIGHUP');
    // The reload is synchronous in the agent: one request after it sees the new state.
    await sleep(150);
    return readAudit(env.audit).slice(before);
  };

  await t.test('a script added to scripts.conf becomes runnable; a request in flight is not disturbed', async () => {
    assert.equal((await run('added')).body.error, 'script not permitted');
    const slow = run('slow');
    await sleep(300);
    appendFileSync(env.scriptsConf, `added = ${addedPath}\n`);
    await hup();
    const added = await run('added');
    assert.deepEqual([added.body.exit, added.body.stdout], [0, 'added\n']);
    const done = await slow;
    assert.deepEqual([done.status, done.body.exit, done.body.stdout], [200, 0, 'slow done\n']);
  });

  await t.test('a broken scripts.conf keeps the previous allowlist (config-warn)', async () => {
    writeFileSync(env.scriptsConf, `slow = ${slowPath}\nadded = ${addedPath} profile=undefined-one\n`);
    const events = await hup();
    const warn = events.find((e) => e.action === 'config-warn' && e.key === 'scripts.conf');
    assert.ok(warn, JSON.stringify(events));
    assert.match(String(warn.field_msg), /undefined profile 'undefined-one'/);
    assert.equal((await run('added')).body.stdout, 'added\n');
  });

  await t.test('a broken agent.conf keeps the previous configuration (config-warn)', async () => {
    env.writeScripts([`slow = ${slowPath}`, `added = ${addedPath}`]);
    writeFileSync(env.conf, `${'port = 1\n'}this is not a config line\n`);
    const events = await hup();
    const warn = events.find((e) => e.action === 'config-warn' && e.key === 'agent.conf');
    assert.ok(warn, JSON.stringify(events));
    assert.match(String(warn.field_msg), /Malformed config line/);
    // The allowlist was still re-read under the previous configuration.
    assert.equal((await run('added')).body.stdout, 'added\n');
    const caps = await request(agent.port, ca, { method: 'GET', path: '/capabilities', identity: dispatcher });
    assert.deepEqual(caps.body.tags, { env: 'test', role: 'web' });
  });

  await t.test('safe keys apply; port and cert changes ask for a restart', async () => {
    env.writeConf(
      { allowed_ips: '127.0.0.1, 127.0.0.7', port: String(env.port + 1), rate_limit_volume: '1/60/300' },
      '[profile default]\nrun_as = nobody\n\n[tags]\nenv = reloaded\n',
    );
    const events = await hup();
    const restart = events.filter((e) => e.action === 'config-warn' && String(e.field_msg).includes('restart')).map((e) => e.key);
    assert.deepEqual(restart, ['port']);
    const caps = await request(agent.port, ca, { method: 'GET', path: '/capabilities', identity: dispatcher });
    assert.deepEqual(caps.body.tags, { env: 'reloaded' });
    await assert.rejects(request(agent.port, ca, { path: '/ping', identity: dispatcher, body: {}, localAddress: '127.0.0.8' }));
    await waitForAudit(env.audit, (e) => e.action === 'ip-block' && e.peer === '127.0.0.8');
    // The new volume limit (1 per minute for strangers) is in force, from a clean table.
    assert.equal((await request(agent.port, ca, { path: '/ping', identity: stranger, body: {}, localAddress: '127.0.0.7' })).status, 403);
    await assert.rejects(request(agent.port, ca, { path: '/ping', identity: stranger, body: {}, localAddress: '127.0.0.7' }));
    // ... and the table is cleared by the next reload.
    await hup();
    assert.equal((await request(agent.port, ca, { path: '/ping', identity: stranger, body: {}, localAddress: '127.0.0.7' })).status, 403);
  });

  await t.test('the trusted map and the revocation list are re-read', async () => {
    assert.equal((await run('added', dispatcher2)).body.stdout, 'added\n');
    appendFileSync(env.revoked, `${dispatcher2.serial}\n`);
    writeFileSync(env.trustedMap, `${dispatcher.serial} dispatcher01\n${stranger.serial} newcomer\n`);
    await hup();
    const revoked = await run('added', dispatcher2);
    assert.deepEqual([revoked.status, revoked.body], [403, { error: 'certificate revoked' }]);
    const newcomer = await request(agent.port, ca, { path: '/ping', identity: stranger, body: { reqid: 'nc' }, localAddress: '127.0.0.7' });
    assert.equal(newcomer.status, 200);
    await waitForAudit(env.audit, (e) => e.action === 'ping' && e.dispatcher === 'newcomer');
  });

  await t.test('still running after all the reloads, and stops cleanly', async () => {
    assert.equal(hups, 6);
    const r = await agent.stop();
    assert.equal(r.code, 0);
  });
});

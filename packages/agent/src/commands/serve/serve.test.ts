import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAgent } from '../../testing/agent-fixture.js';
import { makeServeEnv, readAudit, request, startAgent } from '../../server/test-helpers.js';

test('serve: a malformed agent.conf is a framed configuration error, exit 78', async (t) => {
  const env = await makeServeEnv(t);
  writeFileSync(env.conf, `port = 7443\ncert = a\nkey = b\nca = c\nthis line is wrong\n`);
  const r = await runAgent(['serve', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 78);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^ctrl-exec-agent: cannot start - configuration error\.\n/);
  assert.match(r.stderr, /Malformed config line/);
  assert.ok(r.stderr.includes(env.conf), 'names agent.conf');
  assert.match(r.stderr, /scripts\.conf/);
  assert.match(r.stderr, /'#' does not start a comment/);
});

test('serve: an inline comment in a profile value is a configuration error, exit 78', async (t) => {
  const env = await makeServeEnv(t, { sections: '[profile default]\ncaps = CAP_NET_RAW # needed for ping\n' });
  const r = await runAgent(['serve', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /^ctrl-exec-agent: cannot start - configuration error\./);
});

test('serve: not paired, exit 78', async (t) => {
  const env = await makeServeEnv(t);
  rmSync(join(env.certDir, 'agent.crt'));
  const r = await runAgent(['serve', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /^ctrl-exec-agent: cannot start - this agent has not been paired yet\.\n/);
  assert.match(r.stderr, /request-pairing --dispatcher/);
  assert.ok(r.stderr.includes(join(env.certDir, 'agent.crt')));
});

test('serve: a script using an undefined profile, exit 78', async (t) => {
  const env = await makeServeEnv(t);
  env.writeScripts([`x = ${env.script('x.sh', '#!/bin/sh\n')} profile=web`]);
  const r = await runAgent(['serve', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /configuration error/);
  assert.match(r.stderr, /undefined profile 'web'/);
});

test('serve: the default profile must be defined too, exit 78', async (t) => {
  const env = await makeServeEnv(t, { sections: '[tags]\nenv = x\n' });
  env.writeScripts([`x = ${env.script('x.sh', '#!/bin/sh\n')}`]);
  const r = await runAgent(['serve', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /undefined profile 'default'/);
});

test('serve: a missing allowlist, exit 78', async (t) => {
  const env = await makeServeEnv(t);
  const r = await runAgent(['serve', '--config', env.conf, '--allowlist', join(env.root, 'nope.conf')], { timeoutMs: 20_000 });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /nope\.conf/);
});

test('serve: starts, warns that profiles are not enforced, logs start, stops on SIGTERM with 0', async (t) => {
  const env = await makeServeEnv(t, { sections: '[profile default]\nrun_as = nobody\n[profile web]\nrun_as = www-data\n' });
  const other = join(env.root, 'other-scripts.conf');
  writeFileSync(other, `web = ${env.script('web.sh', '#!/bin/sh\necho web\n')} profile=web\n`);
  const agent = await startAgent(t, env, { args: ['--allowlist', other] });
  assert.equal(agent.stdout(), `ctrl-exec-agent listening on 127.0.0.1:${env.port}\n`);
  assert.match(agent.stderr(), /profiles are NOT enforced/);
  assert.match(agent.stderr(), /web \(web\)/);
  const r = await request(agent.port, env.pki.ca.certPem, { path: '/run', identity: env.pki.dispatcher, body: { script: 'web', args: [], reqid: 'w' } });
  assert.equal(r.body.stdout, 'web\n');
  const stopped = await agent.stop();
  assert.deepEqual(stopped, { code: 0, signal: null });
  const start = readAudit(env.audit).find((e) => e.action === 'start');
  assert.equal(start?.port, env.port);
});

test('serve: SIGTERM lets a request in flight finish', async (t) => {
  const env = await makeServeEnv(t);
  env.writeScripts([`wait = ${env.script('wait.sh', '#!/bin/sh\nsleep 1\necho finished\n')}`]);
  const agent = await startAgent(t, env);
  const pending = request(agent.port, env.pki.ca.certPem, { path: '/run', identity: env.pki.dispatcher, body: { script: 'wait', args: [], reqid: 'w' } });
  await new Promise((r) => setTimeout(r, 300));
  agent.proc.kill('SIGTERM');
  const r = await pending;
  assert.equal(r.body.stdout, 'finished\n');
  assert.deepEqual(await agent.exited, { code: 0, signal: null });
});

test('serve: the port is taken, exit 1', async (t) => {
  const env = await makeServeEnv(t);
  const first = await startAgent(t, env);
  const r = await runAgent(['serve', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  await first.stop();
});

test('serve: a key that does not match the certificate, exit 78', async (t) => {
  const env = await makeServeEnv(t);
  writeFileSync(join(env.certDir, 'agent.key'), env.pki.stranger.key);
  const r = await runAgent(['serve', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /^ctrl-exec-agent: cannot start - the agent certificate, key or CA cannot be used: /);
});

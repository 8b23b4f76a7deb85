import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certInfo } from '@ctrl-exec/core';
import { runAgent } from '../../testing/agent-fixture.js';
import { makeServeEnv } from '../../server/test-helpers.js';

test('self-check: config, allowlist, certificate and every script', async (t) => {
  const env = await makeServeEnv(t);
  const ok = env.script('ok.sh', '#!/bin/sh\n');
  const noexec = env.script('noexec.sh', '#!/bin/sh\n');
  chmodSync(noexec, 0o644);
  env.writeScripts([`ok = ${ok}`, `noexec = ${noexec} profile=web`]);
  const r = await runAgent(['self-check', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n'), [
    'Checking config...',
    `Config OK (port ${env.port})`,
    'Allowlist OK (2 scripts)',
    `Certificate OK (expires ${certInfo(env.pki.agent.cert).notAfter})`,
    `Script 'noexec': ${noexec}  (profile: web) [NOT EXECUTABLE]`,
    `Script 'ok': ${ok}  (profile: default) [ok]`,
    r.stdout.split('\n')[6],
    'Self-check complete.',
    '',
  ]);
  assert.match(r.stdout.split('\n')[6]!, /^Profile error: .*undefined profile 'web'/);
});

test('self-check: not paired is reported, not fatal', async (t) => {
  const env = await makeServeEnv(t);
  rmSync(join(env.certDir, 'agent.crt'));
  const r = await runAgent(['self-check', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Certificate: not paired - certificate not found at /m);
  assert.match(r.stdout, /Self-check complete\.\n$/);
});

test('self-check: a config or allowlist that cannot be loaded, exit 1', async (t) => {
  const env = await makeServeEnv(t);
  const missing = await runAgent(['self-check', '--config', env.conf, '--allowlist', join(env.root, 'none.conf')], { timeoutMs: 20_000 });
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /^Allowlist error: .*none\.conf/m);
  writeFileSync(env.conf, 'garbage line\n');
  const bad = await runAgent(['self-check', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^Checking config\.\.\.\nConfig error: .*Malformed config line/);
});

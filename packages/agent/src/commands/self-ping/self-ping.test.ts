import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runAgent } from '../../testing/agent-fixture.js';
import { makeServeEnv, startAgent, waitForAudit } from '../../server/test-helpers.js';

test('self-ping: a running agent refuses its own certificate (403 serial mismatch), exit 0', async (t) => {
  const env = await makeServeEnv(t);
  const agent = await startAgent(t, env);
  const r = await runAgent(['self-ping', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Ping response: 403 serial mismatch (expected - agent is running and enforcing policy)\n');
  const line = await waitForAudit(env.audit, (e) => e.action === 'serial-reject');
  assert.match(String(line.reqid), /^[0-9a-f]{8}$/);
  await agent.stop();
});

test('self-ping: nothing listening, exit 1', async (t) => {
  const env = await makeServeEnv(t);
  const r = await runAgent(['self-ping', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `Port ${env.port}: not listening - is the agent running?\n`);
});

test('self-ping: not paired, exit 1', async (t) => {
  const env = await makeServeEnv(t);
  rmSync(join(env.certDir, 'agent.key'));
  const r = await runAgent(['self-ping', '--config', env.conf], { timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Not paired: private key not found/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, makeServeEnv, readAudit, request, sleep, startAgent, waitForAudit, type ServeEnv } from './test-helpers.js';

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function setup(env: ServeEnv): string {
  const pids = join(env.root, 'child.pid');
  env.writeScripts([
    // A script that starts a grandchild and waits on it: cancel must stop both.
    `long = ${env.script('long.sh', `#!/bin/sh\nsleep 60 &\necho $! > "${pids}"\necho started\nwait\n`)}`,
    `quick = ${env.script('quick.sh', '#!/bin/sh\necho quick\n')}`,
  ]);
  return pids;
}

test('POST /cancel stops an async job and its children, records it cancelled, frees the script', async (t) => {
  const env = await makeServeEnv(t);
  const pids = setup(env);
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const post = (path: string, body: unknown, identity = env.pki.dispatcher) => request(agent.port, ca, { path, identity, body });
  const result = (reqid: string) => request(agent.port, ca, { method: 'GET', path: `/result/${reqid}`, identity: env.pki.dispatcher });

  assert.equal((await post('/run', { script: 'long', args: [], reqid: 'c1', async: true })).status, 202);
  const grandchild = await waitFor('the script to start', async () => (existsSync(pids) ? Number(readFileSync(pids, 'utf8')) : undefined));
  // The running record shows upstream's fields only (the job pid stays inside the agent).
  const running = await result('c1');
  assert.deepEqual(Object.keys(running.body).sort(), ['owner', 'reqid', 'script', 'started', 'status']);

  // Another dispatcher cannot see it, let alone cancel it.
  const foreign = await post('/cancel', { reqid: 'c1' }, env.pki.dispatcher2);
  assert.deepEqual([foreign.status, foreign.body], [404, { status: 'unknown', reqid: 'c1' }]);
  assert.ok(alive(grandchild));

  const cancel = await post('/cancel', { reqid: 'c1', token: 'cancel-token-4321' });
  assert.deepEqual([cancel.status, cancel.body], [200, { status: 'cancelling', reqid: 'c1' }]);
  const done = await waitFor('the cancelled record', async () => {
    const r = await result('c1');
    return r.body.status === 'done' ? r.body : undefined;
  });
  assert.equal(done.cancelled, true);
  assert.equal(done.stdout, 'started\n');
  assert.notEqual(done.exit, 0);
  await waitFor('the grandchild to die', async () => (alive(grandchild) ? undefined : true), 10_000);
  // The lock goes with the job process (which exits right after writing its record): the same script runs again.
  await waitFor('the script lock to be free', async () => ((await post('/run', { script: 'long', args: [], reqid: 'c2', async: true })).status === 202 ? true : undefined), 10_000);
  assert.equal((await post('/cancel', { reqid: 'c2' })).status, 200);

  // Nothing to cancel: finished, unknown, malformed.
  assert.equal((await post('/run', { script: 'quick', args: [], reqid: 'q1', async: true })).status, 202);
  await waitFor('q1', async () => ((await result('q1')).body.status === 'done' ? true : undefined));
  assert.deepEqual((await post('/cancel', { reqid: 'q1' })).body, { status: 'done', reqid: 'q1' });
  assert.deepEqual((await post('/cancel', { reqid: 'nope' })).body, { status: 'unknown', reqid: 'nope' });
  assert.equal((await post('/cancel', { reqid: '../../etc/passwd' })).status, 404);
  assert.equal((await post('/cancel', {})).status, 404);
  // Untrusted callers meet the map gate.
  assert.equal((await post('/cancel', { reqid: 'c2' }, env.pki.stranger)).status, 403);

  await waitForAudit(env.audit, (e) => e.action === 'cancel' && e.reqid === 'c1' && e.dispatcher === 'dispatcher01');
  await waitForAudit(env.audit, (e) => e.action === 'run' && e.reqid === 'c1' && e.cancelled === true);
  assert.equal(readFileSync(env.audit, 'utf8').includes('cancel-token-4321'), false);
  // c2's job writes its record as it ends: let it, before the directory goes.
  await waitFor('c2 to end', async () => ((await result('c2')).body.status === 'done' ? true : undefined));
  await sleep(200);
  void readAudit;
});

test('POST /cancel asks the agent hook (action cancel) and honours a denial', async (t) => {
  const env = await makeServeEnv(t);
  const pids = setup(env);
  const hook = env.script('hook.sh', '#!/bin/sh\n[ "$ENVEXEC_ACTION" = cancel ] && exit 1\nexit 0\n');
  env.writeConf({ auth_hook: hook });
  const agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  assert.equal((await request(agent.port, ca, { path: '/run', identity: env.pki.dispatcher, body: { script: 'long', args: [], reqid: 'h1', async: true } })).status, 202);
  const grandchild = await waitFor('the script to start', async () => (existsSync(pids) ? Number(readFileSync(pids, 'utf8')) : undefined));
  const denied = await request(agent.port, ca, { path: '/cancel', identity: env.pki.dispatcher, body: { reqid: 'h1' } });
  assert.deepEqual([denied.status, denied.body], [403, { error: 'not authorised: denied' }]);
  assert.ok(alive(grandchild));
  // End the job ourselves, and let it write its record before the directory goes.
  process.kill(grandchild, 'SIGKILL');
  await waitFor('the job to end', async () => {
    const r = await request(agent.port, ca, { method: 'GET', path: '/result/h1', identity: env.pki.dispatcher });
    return r.body.status === 'done' ? true : undefined;
  });
  await sleep(200);
});

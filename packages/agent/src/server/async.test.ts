import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeServeEnv, readAudit, request, sleep, startAgent, waitForAudit, type ServeEnv } from './test-helpers.js';

const TOKEN = 'async-token-secret-99';

async function resultOf(env: ServeEnv, port: number, reqid: string, identity = env.pki.dispatcher) {
  return request(port, env.pki.ca.certPem, { method: 'GET', path: `/result/${reqid}`, identity });
}

async function waitDone(env: ServeEnv, port: number, reqid: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await resultOf(env, port, reqid);
    if (r.status === 200 && r.body.status === 'done') return r;
    if (Date.now() > deadline) throw new Error(`job ${reqid} did not finish: ${JSON.stringify(r.body)}`);
    await sleep(100);
  }
}

test('async runs: accepted, busy, result store, owner gate, restart', async (t) => {
  const env = await makeServeEnv(t);
  const gate = join(env.root, 'gate');
  env.writeScripts([
    // Runs until the test creates the gate file (at most 20 s).
    `job = ${env.script('job.sh', `#!/bin/sh\nn=0\nwhile [ ! -e "${gate}-$1" ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n+1)); done\necho "job $1 done"\ncat >&2\nexit 4\n`)}`,
    `quick = ${env.script('quick.sh', '#!/bin/sh\necho quick\n')}`,
    `other = ${env.script('other.sh', '#!/bin/sh\nsleep 0.5\necho other\n')}`,
  ]);
  // An expired record (mtime 25 h ago) that the next submit purges.
  const oldRecord = join(env.runsDir, 'dispatcher01', 'old.json');
  mkdirSync(join(env.runsDir, 'dispatcher01'), { recursive: true });
  writeFileSync(oldRecord, '{"reqid":"old","status":"done"}');
  const past = (Date.now() - 25 * 3600_000) / 1000;
  utimesSync(oldRecord, past, past);

  let agent = await startAgent(t, env);
  const ca = env.pki.ca.certPem;
  const submit = (script: string, reqid: string, args: string[] = [], identity = env.pki.dispatcher) =>
    request(agent.port, ca, { path: '/run', identity, body: { script, args, reqid, username: 'u', token: TOKEN, async: true } });

  await t.test('submit: 202 accepted, record written before the answer', async () => {
    const r = await submit('job', 'a1', ['a1']);
    assert.equal(r.status, 202);
    assert.deepEqual(r.body, { script: 'job', status: 'accepted', reqid: 'a1' });
    const path = join(env.runsDir, 'dispatcher01', 'a1.json');
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.equal(existsSync(oldRecord), false, 'expired record purged');
    const line = await waitForAudit(env.audit, (e) => e.action === 'run-async' && e.reqid === 'a1');
    assert.deepEqual([line.dispatcher, line.script, line.peer], ['dispatcher01', 'job', '127.0.0.1']);
  });

  await t.test('the same script again while it runs: 409 busy', async () => {
    const r = await submit('job', 'a2', ['a2']);
    assert.equal(r.status, 409);
    assert.deepEqual(r.body, { script: 'job', status: 'busy', reqid: 'a2', error: 'script already running' });
    await waitForAudit(env.audit, (e) => e.action === 'run-async-busy' && e.reqid === 'a2');
    assert.equal(existsSync(join(env.runsDir, 'dispatcher01', 'a2.json')), false);
  });

  await t.test('two simultaneous submits of one script: exactly one is accepted', async () => {
    const both = await Promise.all([submit('other', 'o1'), submit('other', 'o2')]);
    assert.deepEqual(both.map((r) => r.status).sort(), [202, 409]);
    const accepted = both.find((r) => r.status === 202)!;
    const done = await waitDone(env, agent.port, accepted.body.reqid as string);
    assert.equal(done.body.stdout, 'other\n');
  });

  await t.test('/result: running, then done; the owner only', async () => {
    const running = await resultOf(env, agent.port, 'a1');
    assert.equal(running.status, 200);
    assert.deepEqual({ ...running.body, started: undefined }, { reqid: 'a1', status: 'running', script: 'job', owner: 'dispatcher01', started: undefined });
    assert.match(running.body.started as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const other = await resultOf(env, agent.port, 'a1', env.pki.dispatcher2);
    assert.deepEqual([other.status, other.body], [404, { status: 'unknown', reqid: 'a1' }]);
    const deny = await waitForAudit(env.audit, (e) => e.action === 'result-deny');
    assert.deepEqual([deny.dispatcher, deny.reason, deny.level], ['dispatcher02', 'not-owner', 'warning']);
    const missing = await resultOf(env, agent.port, 'nosuchreq');
    assert.deepEqual([missing.status, missing.body], [404, { status: 'unknown', reqid: 'nosuchreq' }]);
    await waitForAudit(env.audit, (e) => e.action === 'result-miss' && e.reqid === 'nosuchreq');

    writeFileSync(`${gate}-a1`, '');
    const done = await waitDone(env, agent.port, 'a1');
    const ctx = JSON.parse(done.body.stderr as string) as Record<string, unknown>;
    assert.deepEqual(
      { ...done.body, started: undefined, finished: undefined, stderr: undefined },
      { reqid: 'a1', status: 'done', script: 'job', owner: 'dispatcher01', started: undefined, finished: undefined, exit: 4, stdout: 'job a1 done\n', stderr: undefined },
    );
    assert.deepEqual([ctx.reqid, ctx.dispatcher, ctx.token], ['a1', 'dispatcher01', TOKEN]);
    const line = await waitForAudit(env.audit, (e) => e.action === 'run' && e.reqid === 'a1');
    assert.deepEqual([line.exit, line.dispatcher, line.script], [4, 'dispatcher01', 'job']);
    await waitForAudit(env.audit, (e) => e.action === 'result' && e.reqid === 'a1' && e.status === 'done');
    // The lock went with the job.
    const again = await submit('quick', 'q1');
    assert.equal(again.status, 202);
  });

  await t.test('async needs a usable reqid', async () => {
    for (const reqid of ['', 'bad/id', '../x', 'a'.repeat(129)]) {
      const r = await submit('quick', reqid);
      assert.deepEqual([r.status, r.body], [200, { script: 'quick', exit: -1, reqid, error: 'async run requires a valid reqid' }], reqid);
    }
  });

  await t.test('a job survives an agent restart and its result is served afterwards', async () => {
    const r = await submit('job', 'r1', ['r1']);
    assert.equal(r.status, 202);
    const stopped = await agent.stop();
    assert.equal(stopped.code, 0);
    agent = await startAgent(t, env);
    // Still running, and still holding its lock.
    const busy = await submit('job', 'r2', ['r2']);
    assert.equal(busy.status, 409);
    assert.equal((await resultOf(env, agent.port, 'r1')).body.status, 'running');
    writeFileSync(`${gate}-r1`, '');
    const done = await waitDone(env, agent.port, 'r1');
    assert.equal(done.body.stdout, 'job r1 done\n');
    assert.equal(done.body.exit, 4);
  });

  await t.test('the token never reaches the audit log', async () => {
    await agent.stop();
    assert.ok(readAudit(env.audit).length > 10);
    assert.equal(JSON.stringify(readAudit(env.audit)).includes(TOKEN), false);
  });
});

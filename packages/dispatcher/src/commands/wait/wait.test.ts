import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RunStore } from '@ctrl-exec/core';
import { syncRecordFromResults } from '../../engine/index.js';
import { startFakeAgent, type FakeAgent, type FakeAgentOptions } from '../../engine/testing/fake-agent.js';
import { cli, makeDispatcherEnv, type DispatcherEnv } from '../../engine/testing/fixtures.js';

async function agent(t: { after(fn: () => unknown): void }, env: DispatcherEnv, name: string, scripts: FakeAgentOptions['scripts']): Promise<FakeAgent> {
  const { key, cert } = await env.pki.issue(name);
  const a = await startFakeAgent({ key, cert, ca: env.pki.ca.certPem, hostname: name, scripts });
  t.after(() => a.close());
  env.register(name, a.port);
  return a;
}

function reqidOf(stdout: string): string {
  const m = /^Submitted async run {2}req:([a-f0-9]{16})$/m.exec(stdout);
  assert.ok(m, stdout);
  return m[1]!;
}

test('async submit, status while pending, then wait until complete over one kept-alive connection', async (t) => {
  const env = await makeDispatcherEnv(t);
  const w1 = await agent(t, env, 'w1', { build: { delayMs: 5200, stdout: 'built\n' } });
  await agent(t, env, 'w2', { build: { stdout: 'quick\n', stderr: 'note\n' } });

  const submit = await cli(env, ['run', '--async', 'w1', 'w2', 'build', '--', 'release']);
  assert.equal(submit.code, 0, submit.stderr);
  const reqid = reqidOf(submit.stdout);
  const lines = submit.stdout.trimEnd().split('\n');
  assert.match(lines[1]!, /^==> w1 {2}\[accepted {2}\d+ms\]$/);
  assert.match(lines[2]!, /^==> w2 {2}\[accepted {2}\d+ms\]$/);
  assert.equal(lines[3], `Check progress with: ctrl-exec status ${reqid}`);
  assert.equal(w1.requests[0]!.body!.async, true);
  assert.deepEqual(w1.requests[0]!.body!.args, ['release']);

  const file = join(env.stateDir, 'runs', `${reqid}.json`);
  assert.equal(statSync(file).mode & 0o777, 0o640);
  const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(stored.hosts, { w1: { status: 'accepted' }, w2: { status: 'accepted' } });
  assert.deepEqual(stored.pending, ['w1', 'w2']);
  assert.equal(stored.complete, false);
  assert.equal(stored.mode, 'async');
  assert.equal('submitter' in stored, false);

  const status = await cli(env, ['status', reqid]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(
    status.stdout,
    `Request ${reqid}  (script: build)  [PENDING]\n==> w1  [running]\n==> w2  [done  exit:0]\nquick\n    STDERR: note\n`,
  );
  const statusJson = JSON.parse((await cli(env, ['status', '--json', reqid])).stdout) as Record<string, unknown>;
  assert.equal(statusJson.ok, 1);
  assert.equal(statusJson.reqid, reqid);
  assert.equal(statusJson.complete, false);
  assert.deepEqual(statusJson.pending, ['w1']);

  const before = w1.connections();
  const polls = w1.requests.length;
  const started = Date.now();
  const waited = await cli(env, ['wait', reqid]);
  assert.equal(waited.code, 0, waited.stderr);
  assert.ok(Date.now() - started >= 2000, 'it polled more than once');
  assert.equal(waited.stdout, `Request ${reqid}  (script: build)  [COMPLETE]\n==> w1  [done  exit:0]\nbuilt\n==> w2  [done  exit:0]\nquick\n    STDERR: note\n`);
  assert.ok(w1.requests.length - polls >= 3, `polls: ${w1.requests.length - polls}`);
  assert.equal(w1.connections() - before, 1, 'every poll of one wait used the same connection');

  const audit = env.audit();
  assert.ok(audit.some((e) => e.action === 'dispatch' && e.mode === 'async' && e.reqid === reqid));
  assert.equal(audit.filter((e) => e.action === 'run-async' && e.reqid === reqid && e.status === 'accepted').length, 2);
  assert.ok(audit.filter((e) => e.action === 'result' && e.reqid === reqid).length >= 4);

  // a finished record is shown as it is, without asking the agents again
  const after = w1.requests.length;
  assert.equal((await cli(env, ['status', reqid])).code, 0);
  assert.equal(w1.requests.length, after);
});

test('wait exit codes: 1 for failures, 2 when still pending at the timeout, 1 for an unknown request; busy and expired', async (t) => {
  const env = await makeDispatcherEnv(t);
  await agent(t, env, 'f1', { bad: { exit: 4, stdout: 'oh no\n' }, long: { delayMs: 20_000 } });
  const store = new RunStore(join(env.stateDir, 'runs'));

  const bad = await cli(env, ['run', '--async', 'f1', 'bad']);
  assert.equal(bad.code, 0);
  const badWait = await cli(env, ['wait', reqidOf(bad.stdout)]);
  assert.equal(badWait.code, 1);
  assert.match(badWait.stdout, /\[COMPLETE\]\n==> f1 {2}\[done {2}exit:4\]\noh no\n$/);

  const long = await cli(env, ['run', '--async', 'f1', 'long']);
  const longId = reqidOf(long.stdout);
  const started = Date.now();
  const timedOut = await cli(env, ['wait', longId, '--timeout', '1']);
  assert.equal(timedOut.code, 2);
  assert.ok(Date.now() - started < 4000);
  assert.match(timedOut.stdout, /\[PENDING\]\n==> f1 {2}\[running\]\n$/);
  const timedOutJson = JSON.parse((await cli(env, ['wait', '--json', longId, '--timeout', '0'])).stdout) as Record<string, unknown>;
  assert.equal(timedOutJson.complete, false);

  // the agent refuses a second run of the same script: BUSY, nothing accepted
  const busy = await cli(env, ['run', '--async', 'f1', 'long']);
  assert.equal(busy.code, 1);
  assert.match(busy.stdout, /^==> f1 {2}\[BUSY: script already running\]$/m);
  const busyId = reqidOf(busy.stdout);
  const busyWait = await cli(env, ['wait', busyId]);
  assert.equal(busyWait.code, 1);
  assert.match(busyWait.stdout, /\[COMPLETE\]\n==> f1 {2}\[BUSY\]\n {4}script already running\n$/);
  const busyJson = JSON.parse((await cli(env, ['run', '--async', '--json', 'f1', 'long'])).stdout) as Record<string, unknown>;
  assert.equal(busyJson.ok, 1);
  assert.match(String(busyJson.reqid), /^[a-f0-9]{16}$/);
  assert.deepEqual((busyJson.results as Array<Record<string, unknown>>).map((r) => r.status), ['busy']);

  // a run the agent no longer knows about: expired
  store.put({ reqid: 'feedfacefeedface', script: 'gone', mode: 'async', created: 1, hosts: { f1: { status: 'accepted' } }, pending: ['f1'], complete: false });
  const expired = await cli(env, ['wait', 'feedfacefeedface']);
  assert.equal(expired.code, 1);
  assert.match(expired.stdout, /\[COMPLETE\]\n==> f1 {2}\[EXPIRED\]\n$/);

  // an agent that cannot be reached keeps its host pending, with the reason
  store.put({ reqid: 'abcabcabcabcabca', script: 'x', mode: 'async', created: 1, hosts: { ghost: { status: 'accepted' } }, pending: ['ghost'], complete: false });
  const fetchErr = await cli(env, ['status', 'abcabcabcabcabca']);
  assert.equal(fetchErr.code, 0);
  assert.match(fetchErr.stdout, /==> ghost {2}\[accepted\]\n {4}\(fetch pending: unknown agent: ghost\)\n$/);

  // a sync record (as the API writes them) renders like run
  store.put(
    syncRecordFromResults({
      reqid: '0123456789abcdef',
      script: 'check',
      refs: ['f1'],
      results: [{ host: 'f1', script: 'check', exit: 0, stdout: 'fine\n', stderr: '', rtt: '5ms', reqid: '0123456789abcdef' }],
    }),
  );
  const sync = await cli(env, ['status', '0123456789abcdef']);
  assert.equal(sync.stdout, 'Request 0123456789abcdef  (script: check)  [COMPLETE]\n==> f1  [OK  exit:0  5ms  req:0123456789abcdef]\nfine\n');
  assert.equal((await cli(env, ['wait', '0123456789abcdef'])).code, 0);

  for (const [mode, id] of [['status', '../../etc/passwd'], ['status', 'NOTHEX'], ['wait', '0000000000000000']] as const) {
    const r = await cli(env, [mode, id]);
    assert.equal(r.code, 1, `${mode} ${id}`);
    assert.equal(r.stderr, `No such request: ${id}\n`);
  }
  const j = await cli(env, ['wait', '--json', 'aaaa']);
  assert.equal(j.code, 1);
  assert.deepEqual(JSON.parse(j.stdout), { ok: 0, error: 'not found', reqid: 'aaaa' });
  assert.equal((await cli(env, ['wait', 'aaaa', '--timeout', 'soon'])).code, 2);
  assert.equal((await cli(env, ['status'])).code, 2);
});

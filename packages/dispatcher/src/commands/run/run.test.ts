import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { acquireLocks, listHeldLocks } from '@ctrl-exec/core';
import { main } from '../../cli/main.js';
import { startFakeAgent, type FakeAgent, type FakeAgentOptions } from '../../engine/testing/fake-agent.js';
import { cli, freePort, makeDispatcherEnv, makePki, startCli, tempDir, waitFor, type DispatcherEnv, type Pki } from '../../engine/testing/fixtures.js';

const SCRIPTS: FakeAgentOptions['scripts'] = {
  hello: { stdout: 'hello\nworld\n' },
  fail: { exit: 2, stdout: 'partial', stderr: 'first problem\nsecond problem\n' },
  slow: { delayMs: 1000, stdout: 'done\n' },
};

async function agent(t: { after(fn: () => unknown): void }, env: DispatcherEnv, name: string, options: Partial<FakeAgentOptions> = {}, pki: Pki = env.pki): Promise<FakeAgent> {
  const { key, cert } = await pki.issue(name);
  const a = await startFakeAgent({ key, cert, ca: env.pki.ca.certPem, hostname: name, scripts: SCRIPTS, ...options });
  t.after(() => a.close());
  env.register(name, a.port);
  return a;
}

test('run against three agents: text output, --json, exit codes, audit lines sharing one REQID without the token', async (t) => {
  const env = await makeDispatcherEnv(t);
  await agent(t, env, 'web-01');
  await agent(t, env, 'web-02', { hostname: 'web-02.example.com' });
  const a3 = await agent(t, env, 'web-03');

  const ok = await cli(env, ['run', 'web-01', 'web-02', `web-03:${a3.port}`, 'hello', '--token', 'tok-SECRET-991', '--', '-v', 'two words']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '', 'no progress line when stderr is not a terminal');
  const lines = ok.stdout.split('\n');
  const head = /^==> (\S+)(?: \((\S+)\))? {2}\[OK {2}exit:0 {2}\d+ms {2}req:([a-f0-9]{16})\]$/;
  const heads = lines.filter((l) => l.startsWith('==> '));
  assert.equal(heads.length, 3);
  const reqids = new Set(heads.map((l) => head.exec(l)?.[3]));
  assert.equal(reqids.size, 1, ok.stdout);
  const reqid = [...reqids][0]!;
  // reported_hostname belongs to ping/capabilities; run lines name the registry entry only
  assert.match(heads[1]!, /^==> web-02 {2}\[OK/);
  assert.deepEqual(lines.slice(0, 3), [heads[0], 'hello', 'world']);
  assert.equal(a3.requests[0]!.body!.token, 'tok-SECRET-991');
  assert.deepEqual(a3.requests[0]!.body!.args, ['-v', 'two words']);
  assert.equal(a3.requests[0]!.body!.username, process.env.USER ?? '');

  const audit = env.audit();
  const dispatch = audit.filter((e) => e.action === 'dispatch');
  assert.equal(dispatch.length, 1);
  assert.equal(dispatch[0]!.reqid, reqid);
  assert.equal(dispatch[0]!.mode, 'sync');
  assert.equal(dispatch[0]!.script, 'hello');
  const runs = audit.filter((e) => e.action === 'run');
  assert.equal(runs.length, 3);
  assert.ok(runs.every((e) => e.reqid === reqid && e.exit === 0 && /^\d+ms$/.test(String(e.rtt))));
  assert.ok(audit.some((e) => e.action === 'auth' && e.result === 'pass' && e.reason === 'no-hook-cli'));
  assert.ok(audit.some((e) => e.action === 'lock-acquire' && e.host === 'web-01'));
  assert.ok(audit.some((e) => e.action === 'lock-release'));
  assert.equal(env.auditText().includes('tok-SECRET-991'), false);

  const json = await cli(env, ['run', '--json', 'web-01', 'web-02', 'fail'], { ENVEXEC_TOKEN: 'env-SECRET-552', USER: 'carol' });
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout) as { ok: number; results: Array<Record<string, unknown>> };
  assert.equal(doc.ok, 1);
  assert.deepEqual(doc.results.map((r) => [r.host, r.exit, r.script]), [['web-01', 2, 'fail'], ['web-02', 2, 'fail']]);
  assert.equal(doc.results[1]!.reported_hostname, undefined);
  assert.match(String(doc.results[0]!.rtt), /^\d+ms$/);
  assert.equal(env.auditText().includes('env-SECRET-552'), false);

  const text = await cli(env, ['run', 'web-01', 'fail']);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^==> web-01 {2}\[FAIL {2}exit:2 {2}\d+ms {2}req:[a-f0-9]{16}\]\npartial\n {4}STDERR: first problem\n {4}STDERR: second problem\n$/);
});

test('failing hosts: refused, TLS mismatch, forbidden, read timeout — the others still succeed', async (t) => {
  const env = await makeDispatcherEnv(t, { read_timeout: 1 });
  await agent(t, env, 'good');
  const stopped = await agent(t, env, 'stopped');
  await stopped.close();
  const other = await makePki(tempDir(t));
  await agent(t, env, 'rogue', {}, other);
  await agent(t, env, 'nope', { forbid: 'serial mismatch' });
  await agent(t, env, 'sleepy', { delayMs: 2500 });

  const r = await cli(env, ['run', 'good', 'stopped', 'rogue', 'nope', 'good', 'hello']);
  assert.equal(r.code, 1);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^==> good {2}\[OK {2}exit:0 /);
  assert.match(lines[3]!, /^==> stopped {2}\[FAIL {2}exit:-1 {2}\d+ms {2}req:/);
  assert.equal(lines[4], `    ERROR: host 'stopped' did not respond on port ${stopped.port} - connection refused (agent not running, or wrong port?)`);
  assert.equal(lines[6], "    ERROR: TLS handshake with 'rogue' failed - certificate or trust mismatch");
  assert.equal(lines[8], '    ERROR: forbidden: serial mismatch');
  assert.match(lines[9]!, /^==> good {2}\[OK {2}exit:0 /);

  const slow = await cli(env, ['run', '--json', 'sleepy', 'good', 'hello']);
  assert.equal(slow.code, 1);
  const doc = JSON.parse(slow.stdout) as { results: Array<Record<string, unknown>> };
  assert.deepEqual(doc.results[0], { host: 'sleepy', script: 'hello', exit: -1, error: 'read timeout after 1s', rtt: doc.results[0]!.rtt, reqid: doc.results[0]!.reqid });
  assert.equal(doc.results[1]!.error, undefined);
  const errLines = env.audit().filter((e) => e.action === 'run' && e.level === 'err');
  assert.ok(errLines.some((e) => e.error === 'read timeout after 1s'));
});

test('refused before dispatch: usage, unknown agents, too many hosts, bad script name, auth hook denial', async (t) => {
  const env = await makeDispatcherEnv(t);
  const a = await agent(t, env, 'known');

  const few = await cli(env, ['run', 'known']);
  assert.equal(few.code, 2);
  assert.match(few.stderr, /^Need at least one host and a script name\n/);

  const unknown = await cli(env, ['run', 'known', 'ghost', 'phantom:9000', 'hello']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^Error: unknown agents: ghost, phantom\nRun 'ctrl-exec list-agents'/);
  const unknownJson = await cli(env, ['run', '--json', 'ghost', 'hello']);
  assert.equal(unknownJson.code, 1);
  assert.deepEqual(JSON.parse(unknownJson.stdout), { ok: 0, error: 'unknown agent: ghost', code: 'CE_ERR_UNKNOWN_AGENT' });

  const many = await cli(env, ['run', ...Array.from({ length: 501 }, () => 'known'), 'hello']);
  assert.equal(many.code, 2);
  assert.match(many.stderr, /too many hosts \(max 500\)/);

  for (const bad of ['../x', 'a b', 'x;rm']) {
    const r = await cli(env, ['run', 'known', bad]);
    assert.equal(r.code, 2, bad);
  }
  assert.equal(a.requests.length, 0, 'nothing was sent');

  // an auth hook that says no
  const hook = join(env.dir, 'deny-hook.sh');
  writeFileSync(hook, '#!/bin/sh\nexit 3\n');
  chmodSync(hook, 0o755);
  writeFileSync(env.configPath, `${readFileSync(env.configPath, 'utf8')}auth_hook = ${hook}\n`);
  const denied = await cli(env, ['run', 'known', 'hello', '--token', 'hook-SECRET-77']);
  assert.equal(denied.code, 1);
  assert.equal(denied.stderr, 'Denied: insufficient privilege\n');
  assert.equal(denied.stdout, '');
  const deniedJson = await cli(env, ['run', '--json', 'known', 'hello']);
  assert.deepEqual(JSON.parse(deniedJson.stdout), { ok: 0, error: 'insufficient privilege', code: 3 });
  assert.equal(a.requests.length, 0);
  const auth = env.audit().filter((e) => e.action === 'auth' && e.result === 'deny');
  assert.equal(auth.length, 2);
  assert.equal(env.auditText().includes('hook-SECRET-77'), false);
});

test('two concurrent runs of host:script: the second is Locked; the lock is free after the first ends, and after it is SIGKILLed', async (t) => {
  const env = await makeDispatcherEnv(t);
  let open = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const scripts = { ...SCRIPTS, slow: { stdout: 'done\n', until: gate }, hang: { until: new Promise<void>(() => {}) } };
  await agent(t, env, 'db-01', { scripts });
  await agent(t, env, 'db-02', { scripts });
  t.after(() => open());
  const locksDir = env.config().paths.locksDir;

  const first = startCli(env, ['run', 'db-01', 'db-02', 'slow']);
  await waitFor(() => listHeldLocks(locksDir).length === 2, 10_000, 'the first run to hold its locks');
  const listed = await cli(env, ['list-locks']);
  assert.equal(listed.code, 0);
  assert.match(listed.stdout, /^HOST +SCRIPT\n-{50}\ndb-01 +slow\ndb-02 +slow\n$/);
  const listedJson = await cli(env, ['list-locks', '--json']);
  assert.deepEqual(JSON.parse(listedJson.stdout), { ok: 1, locks: [{ host: 'db-01', script: 'slow' }, { host: 'db-02', script: 'slow' }] });

  const second = await cli(env, ['run', 'db-02', 'slow']);
  assert.equal(second.code, 1);
  assert.equal(second.stderr, 'Locked: already running: db-02:slow\n');
  const secondJson = await cli(env, ['run', '--json', 'db-01', 'db-02', 'slow']);
  assert.equal(secondJson.code, 1);
  assert.deepEqual(JSON.parse(secondJson.stdout), { ok: 0, error: 'locked', code: 4, conflicts: ['db-01:slow', 'db-02:slow'] });
  // another script on the same host is not blocked
  const other = await cli(env, ['run', 'db-01', 'hello']);
  assert.equal(other.code, 0, other.stderr);

  open();
  const done = await first.done;
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(listHeldLocks(locksDir), []);
  assert.equal((await cli(env, ['list-locks'])).stdout, 'No locks currently held.\n');
  assert.ok(env.audit().some((e) => e.action === 'lock-conflict'));

  // a run killed mid-dispatch leaves no lock behind
  const killed = startCli(env, ['run', 'db-01', 'hang']);
  await waitFor(() => listHeldLocks(locksDir).length === 1, 10_000, 'the run to hold its lock');
  killed.child.kill('SIGKILL');
  const end = await killed.done;
  assert.equal(end.signal, 'SIGKILL');
  assert.deepEqual(listHeldLocks(locksDir), []);
  acquireLocks(locksDir, [{ host: 'db-01', script: 'hang' }]).release();
});

test('an unreachable port on a host looked up by ip still names the host and port', async (t) => {
  const env = await makeDispatcherEnv(t);
  const port = await freePort();
  env.register('lonely', port);
  const r = await cli(env, ['run', '--json', `lonely:${port}`, 'hello']);
  assert.equal(r.code, 1);
  const doc = JSON.parse(r.stdout) as { results: Array<Record<string, unknown>> };
  assert.equal(doc.results[0]!.host, 'lonely');
  assert.match(String(doc.results[0]!.error), new RegExp(`did not respond on port ${port} - connection refused`));
});

test('on a terminal, several hosts show a progress line and a summary on stderr', async (t) => {
  const env = await makeDispatcherEnv(t);
  await agent(t, env, 'tty-1');
  await agent(t, env, 'tty-2');
  const collect = (isTTY: boolean) => {
    const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
    stream.isTTY = isTTY;
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    return { stream, text: () => text };
  };
  const out = collect(false);
  const err = collect(true);
  const code = await main(['run', 'tty-1', 'tty-2', 'fail'], {
    stdout: out.stream,
    stderr: err.stream,
    stdin: new PassThrough(),
    env: { CTRL_EXEC_CONFIG: env.configPath, USER: 'tester' },
    self: { execPath: process.execPath, script: '' },
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(code, 1);
  // eslint-disable-next-line no-control-regex
  assert.match(err.text(), /^\r\[0\/2\] done, 0 failed\r\[1\/2\] done, 1 failed\r\[2\/2\] done, 2 failed\r\x1b\[K0 ok, 2 failed in \d+\.\ds\n$/);
  assert.equal(out.text().match(/^==> /gm)?.length, 2);
});

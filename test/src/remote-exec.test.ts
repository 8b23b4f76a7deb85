/**
 * Remote execution end to end: the real dispatcher CLI driving real agents on 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certInfo, createCsr, generateRsaKey, issueCertificate, loadCa } from '@ctrl-exec/core';
import { DISPATCHER_BIN, Proc, ced, waitUntil } from './helpers/cli.js';
import { makeFleet } from './helpers/fleet.js';

test('run, ping, status and wait against three agents; a stopped agent reports connection refused', async (t) => {
  const { d, agents } = await makeFleet(t, 3);
  const names = agents.map((a) => a.name);

  const run = await ced(['run', ...names, 'echo', '--', 'a b', '$(id)', '; rm -rf /'], { env: d.env });
  assert.equal(run.code, 0, run.stderr);
  for (const n of names) assert.match(run.stdout, new RegExp(`==> ${n}  \\[OK  exit:0  \\d+ms  req:[0-9a-f]{16}\\]\\na b\\n\\$\\(id\\)\\n; rm -rf /`));
  const reqids = new Set([...run.stdout.matchAll(/req:([0-9a-f]{16})/g)].map((m) => m[1]));
  assert.equal(reqids.size, 1, 'one reqid for the whole operation');
  const reqid = [...reqids][0]!;
  for (const a of agents) assert.ok(a.audit().some((e) => e.action === 'run' && e.reqid === reqid), `agent ${a.name} logged REQID ${reqid}`);
  assert.ok(d.audit().some((e) => e.action === 'dispatch' && e.reqid === reqid));

  const json = await ced(['run', ...names, 'fail', '--json'], { env: d.env });
  assert.equal(json.code, 1);
  const parsed = JSON.parse(json.stdout) as { ok: number; results: Array<Record<string, unknown>> };
  assert.deepEqual(parsed.results.map((r) => [r.host, r.exit, r.stderr]), names.map((n) => [n, 3, 'about to fail\n']));

  const ping = await ced(['ping', ...names, '--json'], { env: d.env });
  assert.equal(ping.code, 0, ping.stderr);
  const pings = (JSON.parse(ping.stdout) as { results: Array<Record<string, unknown>> }).results;
  assert.deepEqual(pings.map((p) => [p.host, p.status, typeof p.version, typeof p.staged]), names.map((n) => [n, 'ok', 'string', 'boolean']));
  const pingText = await ced(['ping', ...names], { env: d.env });
  assert.match(pingText.stdout, /^HOST\s+STATUS\s+RTT\s+CERT EXPIRY\s+VERSION\n-{85}\n/);

  await agents[1]!.stop();
  const partial = await ced(['run', ...names, 'echo', '--', 'x'], { env: d.env });
  assert.equal(partial.code, 1);
  assert.match(partial.stdout, new RegExp(`==> ${names[0]}  \\[OK`));
  assert.match(partial.stdout, new RegExp(`==> ${names[1]}  \\[FAIL  exit:-1[\\s\\S]*ERROR: host '${names[1]}' did not respond on port ${agents[1]!.port} - connection refused \\(agent not running, or wrong port\\?\\)`));
  assert.match(partial.stdout, new RegExp(`==> ${names[2]}  \\[OK`));
});

test('async on two hosts: status running then done, wait exits 0, busy on a second submit, restart keeps the job', async (t) => {
  const { d, agents } = await makeFleet(t, 2);
  const names = agents.map((a) => a.name);
  const submit = await ced(['run', ...names, 'sleepy', '--async', '--', '3'], { env: d.env });
  assert.equal(submit.code, 0, submit.stderr);
  const reqid = /Submitted async run {2}req:([0-9a-f]{16})/.exec(submit.stdout)![1]!;
  for (const n of names) assert.match(submit.stdout, new RegExp(`${n}  \\[accepted  \\d+ms\\]`));

  const busy = await ced(['run', names[0]!, 'sleepy', '--async', '--json', '--', '1'], { env: d.env });
  const busyResult = (JSON.parse(busy.stdout) as { results: Array<Record<string, unknown>> }).results[0]!;
  assert.equal(busyResult.status, 'busy');
  assert.equal(busyResult.error, 'script already running');

  const pending = await ced(['status', reqid], { env: d.env });
  assert.equal(pending.code, 0);
  assert.match(pending.stdout, new RegExp(`Request ${reqid} {2}\\(script: sleepy\\) {2}\\[PENDING\\]`));

  // restart one agent while its job runs: the job and its result survive
  await agents[0]!.stop();
  await agents[0]!.start();

  const wait = await ced(['wait', reqid, '--timeout', '30'], { env: d.env });
  assert.equal(wait.code, 0, wait.stdout + wait.stderr);
  const done = await ced(['status', reqid, '--json'], { env: d.env });
  const rec = JSON.parse(done.stdout) as { complete: boolean; hosts: Record<string, { status: string; exit: number; stdout: string }> };
  assert.equal(rec.complete, true);
  for (const n of names) assert.deepEqual([rec.hosts[n]!.status, rec.hosts[n]!.exit, rec.hosts[n]!.stdout], ['done', 0, 'slept 3\n']);
});

test('two concurrent runs of one script on one host: the second is Locked until the first ends', async (t) => {
  const { d, agents } = await makeFleet(t, 1);
  const name = agents[0]!.name;
  const first = new Proc(DISPATCHER_BIN, ['run', name, 'sleepy', '--', '2'], { env: d.env });
  await waitUntil(async () => (await ced(['list-locks', '--json'], { env: d.env })).stdout.includes(name), 10_000, 'lock held');
  const second = await ced(['run', name, 'sleepy', '--', '0'], { env: d.env });
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`Locked: already running: ${name}:sleepy`));
  assert.equal((await first.exited).code, 0);
  const third = await ced(['run', name, 'sleepy', '--', '0'], { env: d.env });
  assert.equal(third.code, 0, third.stderr);
});

test('default rate limits: polling and repeated pings from the dispatcher are never blocked, an untrusted client is', async (t) => {
  const { d, agents } = await makeFleet(t, 1);
  const agent = agents[0]!;
  const name = agent.name;

  // wait polls every 2 s for ~24 s: more than the 10 connections per minute an untrusted client gets
  const submit = await ced(['run', name, 'sleepy', '--async', '--', '24'], { env: d.env });
  const reqid = /req:([0-9a-f]{16})/.exec(submit.stdout)![1]!;
  const waiter = new Proc(DISPATCHER_BIN, ['wait', reqid, '--timeout', '60'], { env: d.env });

  // 20 separate ping processes, each a new connection, within the same minute
  for (let i = 0; i < 20; i++) {
    const p = await ced(['ping', name], { env: d.env });
    assert.equal(p.code, 0, `ping ${i}: ${p.stdout}${p.stderr}`);
  }
  assert.equal((await waiter.exited).code, 0, waiter.stdout + waiter.stderr);
  assert.equal(agent.audit().filter((e) => e.action === 'rate-block').length, 0);

  // a CA-signed client whose serial the agent does not trust: blocked after 10 connections
  const ca = loadCa(d.caDir);
  const key = await generateRsaKey(2048);
  const cert = issueCertificate(ca, createCsr(key, 'intruder'), { days: 1 }).certPem;
  const outcomes: string[] = [];
  for (let i = 0; i < 20; i++) {
    outcomes.push(
      await new Promise<string>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: agent.port, key, cert, ca: ca.certPem, checkServerIdentity: () => undefined }, () => {
          s.end('POST /ping HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}');
        });
        let data = '';
        s.on('data', (c: Buffer) => (data += c.toString()));
        s.on('close', () => resolve(data.includes('serial mismatch') ? 'forbidden' : 'dropped'));
        s.on('error', () => undefined);
      }),
    );
  }
  assert.ok(outcomes.slice(0, 10).every((o) => o === 'forbidden'), outcomes.join(','));
  assert.ok(outcomes.slice(11).every((o) => o === 'dropped'), outcomes.join(','));
  assert.equal(agent.audit().filter((e) => e.action === 'rate-block').length, 1);
  assert.ok(readFileSync(join(agent.dir, 'audit.jsonl'), 'utf8').includes('serial-reject'));
});

test('TLS sessions carry over between CLI runs (state_dir/tls-sessions.json, 0600); a revoked dispatcher is refused on a resumed session', async (t) => {
  const { d, agents } = await makeFleet(t, 1);
  const agent = agents[0]!;
  const sessions = join(d.stateDir, 'tls-sessions.json');
  const first = await ced(['run', agent.name, 'echo', '--', 'one'], { env: d.env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(statSync(sessions).mode & 0o777, 0o600);
  assert.ok(Object.keys((JSON.parse(readFileSync(sessions, 'utf8')) as { sessions: object }).sessions).includes(`127.0.0.1:${agent.port}`));
  const second = await ced(['run', agent.name, 'echo', '--', 'two'], { env: d.env });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /\ntwo\n/);

  // The agent checks every request's certificate, resumed or not.
  const serial = certInfo(readFileSync(join(d.caDir, 'dispatcher.crt'), 'utf8')).serial;
  writeFileSync(join(agent.certDir, 'revoked-serials'), `${serial}\n`);
  agent.proc!.child.kill('SIGHUP');
  const refused = await waitUntil(async () => {
    const r = await ced(['run', agent.name, 'echo', '--', 'three'], { env: d.env });
    return r.code !== 0 ? r : undefined;
  }, 10_000, 'the revoked dispatcher refused');
  assert.match(refused.stdout, /certificate revoked/);
  assert.ok(Object.keys((JSON.parse(readFileSync(sessions, 'utf8')) as { sessions: object }).sessions).length > 0, 'a session was on offer');
});

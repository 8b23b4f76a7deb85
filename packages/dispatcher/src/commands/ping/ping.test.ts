import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAgent, type FakeAgent, type FakeAgentOptions } from '../../engine/testing/fake-agent.js';
import { cli, freePort, makeDispatcherEnv, type DispatcherEnv } from '../../engine/testing/fixtures.js';
import { pingTableLines } from './index.js';

async function agent(t: { after(fn: () => unknown): void }, env: DispatcherEnv, name: string, options: Partial<FakeAgentOptions> = {}): Promise<FakeAgent> {
  const { key, cert } = await env.pki.issue(name);
  const a = await startFakeAgent({ key, cert, ca: env.pki.ca.certPem, hostname: name, version: '0.12.3', expiry: 'Jun  7 16:28:00 2028 GMT', ...options });
  t.after(() => a.close());
  env.register(name, a.port);
  return a;
}

test('ping: table, --json, exit 1 when a host fails (0 when all answer), audit lines', async (t) => {
  const env = await makeDispatcherEnv(t);
  await agent(t, env, 'p1');
  await agent(t, env, 'p2', { hostname: 'p2.example.net' });
  const downPort = await freePort();
  env.register('p3', downPort);

  const all = await cli(env, ['ping', 'p1', 'p2']);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'HOST                           STATUS   RTT      CERT EXPIRY                  VERSION');
  assert.equal(lines[1], '-'.repeat(85));
  assert.match(lines[2]!, /^p1 {29}ok {7}\d+ms +Jun {2}7 16:28:00 2028 GMT {5}0\.12\.3$/);
  assert.match(lines[3]!, /^p2 \(p2\.example\.net\) +ok +\d+ms +Jun {2}7 16:28:00 2028 GMT +0\.12\.3$/);

  const some = await cli(env, ['ping', 'p1', 'p3']);
  assert.equal(some.code, 1);
  assert.match(some.stdout, /\np3 {29}error {4}\d+ms +\? +\?\n {4}ERROR: host 'p3' did not respond on port \d+ - connection refused/);

  const json = await cli(env, ['ping', '--json', 'p2', 'p3']);
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout) as { ok: number; results: Array<Record<string, unknown>> };
  assert.equal(doc.ok, 1);
  assert.equal(doc.results[0]!.host, 'p2');
  assert.equal(doc.results[0]!.reported_hostname, 'p2.example.net');
  assert.equal(doc.results[0]!.status, 'ok');
  assert.equal(doc.results[0]!.staged, false);
  assert.deepEqual(Object.keys(doc.results[1]!).sort(), ['error', 'host', 'rtt', 'status']);

  const audit = env.audit();
  assert.ok(audit.some((e) => e.action === 'auth' && e.authaction === 'ping' && e.result === 'pass'));
  const pings = audit.filter((e) => e.action === 'ping');
  assert.equal(pings.length, 6);
  assert.ok(pings.some((e) => e.result === 'ok' && /^127\.0\.0\.1:\d+$/.test(String(e.target))));
  assert.ok(pings.some((e) => typeof e.error === 'string' && e.level === 'err'));

  const usage = await cli(env, ['ping']);
  assert.equal(usage.code, 2);
  const unknown = await cli(env, ['ping', 'nobody']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^Error: unknown agent: nobody\n/);
});

test('ping table rendering', () => {
  assert.deepEqual(pingTableLines([{ host: 'h', rtt: '3ms', status: 'ok' }]).slice(2), ['h                              ok       3ms      ?                            ?']);
});

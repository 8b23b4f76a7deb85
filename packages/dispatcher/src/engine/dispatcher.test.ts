import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { CtrlExecError, type AuditEvent, type AsyncRunRecord } from '@ctrl-exec/core';
import { createDispatcher, type Dispatcher, type HostResult } from './dispatcher.js';
import { aggregateRecord, asyncRecordFromSubmit, hostFailed } from './run-records.js';
import { DISPATCH_FINISH_CHANNEL, DISPATCH_HOST_CHANNEL, DISPATCH_START_CHANNEL } from './events.js';
import { startFakeAgent, type FakeAgent, type FakeAgentOptions } from './testing/fake-agent.js';
import { freePort, makeDispatcherEnv, makePki, tempDir, type DispatcherEnv, type Pki } from './testing/fixtures.js';

interface World {
  env: DispatcherEnv;
  audit: AuditEvent[];
  dispatcher: Dispatcher;
  agents: Record<string, FakeAgent>;
  start(name: string, options?: Partial<FakeAgentOptions>, pki?: Pki): Promise<FakeAgent>;
}

async function world(t: { after(fn: () => void | Promise<void>): void }, settings: Record<string, string | number> = {}): Promise<World> {
  const env = await makeDispatcherEnv(t, settings);
  const audit: AuditEvent[] = [];
  const dispatcher = createDispatcher({ config: env.config(), audit: (e) => audit.push(e) });
  t.after(() => dispatcher.close());
  const agents: Record<string, FakeAgent> = {};
  return {
    env,
    audit,
    dispatcher,
    agents,
    async start(name, options = {}, pki = env.pki) {
      const { key, cert } = await pki.issue(`${name}.example`);
      const agent = await startFakeAgent({
        key,
        cert,
        ca: env.pki.ca.certPem,
        hostname: name,
        scripts: { hello: { stdout: `hello from ${name}\n` }, fail: { exit: 3, stderr: 'bad\n' }, slow: { delayMs: 400, stdout: 'slow\n' } },
        ...options,
      });
      t.after(() => agent.close());
      env.register(name, agent.port);
      agents[name] = agent;
      return agent;
    },
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CtrlExecError, String(err));
    return err.code;
  }
  assert.fail('expected an error');
}

async function rejectsCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CtrlExecError, String(err));
    return err.code;
  }
  assert.fail('expected a rejection');
}

test('run fans out to every host: one reqid, results in the given order, upstream shapes, audit and channels', async (t) => {
  const w = await world(t);
  await w.start('a1', { delayMs: 300 });
  await w.start('a2');
  const a3 = await w.start('a3');
  const seen: Record<string, unknown[]> = { start: [], host: [], finish: [] };
  const onStart = (m: unknown) => seen.start!.push(m);
  const onHost = (m: unknown) => seen.host!.push(m);
  const onFinish = (m: unknown) => seen.finish!.push(m);
  subscribe(DISPATCH_START_CHANNEL, onStart);
  subscribe(DISPATCH_HOST_CHANNEL, onHost);
  subscribe(DISPATCH_FINISH_CHANNEL, onFinish);
  t.after(() => {
    unsubscribe(DISPATCH_START_CHANNEL, onStart);
    unsubscribe(DISPATCH_HOST_CHANNEL, onHost);
    unsubscribe(DISPATCH_FINISH_CHANNEL, onFinish);
  });

  const order: number[] = [];
  const { reqid, results } = await w.dispatcher.run({
    hosts: ['a1', 'a2', `a3:${a3.port}`],
    script: 'hello',
    args: ['--x', 'y z'],
    username: 'alice',
    token: 'sekrit-token-1234',
    onResult: (_r, i) => order.push(i),
  });
  assert.match(reqid, /^[a-f0-9]{16}$/);
  assert.deepEqual(results.map((r) => r.host), ['a1', 'a2', 'a3']);
  assert.equal(order.at(-1), 0, 'the slow first host finishes last');
  for (const r of results) {
    assert.equal(r.exit, 0);
    assert.equal(r.reqid, reqid);
    assert.equal(r.stdout, `hello from ${r.host}\n`);
    assert.match(r.rtt, /^\d+ms$/);
    assert.equal('reported_hostname' in r, false);
  }
  // what the agent received
  const sent = a3.requests[0]!;
  assert.equal(sent.method, 'POST');
  assert.equal(sent.path, '/run');
  assert.deepEqual(sent.body, { script: 'hello', args: ['--x', 'y z'], reqid, username: 'alice', token: 'sekrit-token-1234' });
  assert.equal(sent.headers['content-type'], 'application/json');
  assert.equal(sent.headers['content-length'], String(Buffer.byteLength(JSON.stringify(sent.body))));
  assert.equal(sent.headers['transfer-encoding'], undefined);

  const dispatch = w.audit.filter((e) => e.action === 'dispatch');
  assert.deepEqual(dispatch, [{ action: 'dispatch', hosts: `a1,a2,a3:${a3.port}`, mode: 'sync', reqid, script: 'hello' }]);
  const runs = w.audit.filter((e) => e.action === 'run');
  assert.equal(runs.length, 3);
  for (const e of runs) {
    assert.equal(e.reqid, reqid);
    assert.equal(e.exit, 0);
    assert.match(String(e.target), /^127\.0\.0\.1:\d+$/);
  }
  assert.equal(JSON.stringify(w.audit).includes('sekrit'), false);
  assert.equal(seen.start!.length, 1);
  assert.equal(seen.host!.length, 3);
  assert.deepEqual(seen.finish!.map((m) => (m as { failed: number }).failed), [0]);
});

test('per-host failures are results: refused, forbidden, script refusal, bad JSON, 413, other statuses', async (t) => {
  const w = await world(t);
  await w.start('good');
  await w.start('nope', { forbid: 'serial mismatch' });
  await w.start('junk', { raw: { status: 200, body: 'this is not json' } });
  await w.start('big', { raw: { status: 413, body: '{"error":"request too large"}' } });
  await w.start('oops', { raw: { status: 500, body: '{"error":"boom"}' } });
  const deadPort = await freePort();
  w.env.register('down', deadPort);

  const { reqid, results } = await w.dispatcher.run({ hosts: ['good', 'down', 'nope', 'junk', 'big', 'oops'], script: 'hello' });
  const byHost = Object.fromEntries(results.map((r) => [r.host, r]));
  assert.equal(byHost.good!.exit, 0);
  assert.deepEqual(Object.keys(byHost.down!).sort(), ['error', 'exit', 'host', 'reqid', 'rtt', 'script']);
  assert.equal(byHost.down!.exit, -1);
  assert.equal(byHost.down!.reqid, reqid);
  assert.equal(byHost.down!.error, `host 'down' did not respond on port ${deadPort} - connection refused (agent not running, or wrong port?)`);
  assert.equal(byHost.nope!.error, 'forbidden: serial mismatch');
  assert.equal(byHost.junk!.error, 'invalid JSON response');
  assert.equal(byHost.big!.error, 'request too large');
  assert.equal(byHost.oops!.error, '500 Internal Server Error');
  const errors = w.audit.filter((e) => e.action === 'run' && e.error !== undefined);
  assert.equal(errors.length, 5);
  assert.ok(errors.every((e) => e.level === 'err'));

  // an allowlist refusal is the agent's own answer, passed through
  const refused = await w.dispatcher.run({ hosts: ['good'], script: 'unlisted' });
  assert.equal(refused.results[0]!.exit, -1);
  assert.equal(refused.results[0]!.error, 'script not permitted');
});

test('TLS trust failures both ways say "TLS handshake ... failed"', async (t) => {
  const w = await world(t);
  const otherDir = tempDir(t);
  const other = await makePki(otherDir);
  // the agent's certificate is from another CA: we refuse it
  await w.start('rogue', {}, other);
  // the agent trusts another CA: it refuses our certificate
  const { key, cert } = await w.env.pki.issue('picky.example');
  const picky = await startFakeAgent({ key, cert, ca: other.ca.certPem, scripts: { hello: {} } });
  t.after(() => picky.close());
  w.env.register('picky', picky.port);

  const { results } = await w.dispatcher.ping({ hosts: ['rogue', 'picky'] });
  for (const r of results) {
    assert.equal(r.status, 'error');
    assert.equal(r.error, `TLS handshake with '${r.host}' failed - certificate or trust mismatch`);
    assert.deepEqual(Object.keys(r).sort(), ['error', 'host', 'rtt', 'status']);
  }
  const run = await w.dispatcher.run({ hosts: ['picky'], script: 'hello' });
  assert.equal(run.results[0]!.error, "TLS handshake with 'picky' failed - certificate or trust mismatch");
});

test('read timeout: "read timeout after <N>s"', async (t) => {
  const w = await world(t, { read_timeout: 1 });
  await w.start('sleepy', { scripts: { nap: { delayMs: 2500 } } });
  const started = Date.now();
  const { results } = await w.dispatcher.run({ hosts: ['sleepy'], script: 'nap' });
  assert.equal(results[0]!.error, 'read timeout after 1s');
  assert.equal(results[0]!.exit, -1);
  assert.ok(Date.now() - started < 2400, 'gave up at the timeout');
});

test('resolution: unknown agents, too many hosts, bad script names are refused before anything is sent', async (t) => {
  const w = await world(t);
  const a = await w.start('known');
  assert.equal(codeOf(() => w.dispatcher.resolve(['known', 'ghost'])), 'CE_ERR_UNKNOWN_AGENT');
  try {
    w.dispatcher.resolve(['ghost', 'known', 'spook:99', 'ghost']);
  } catch (err) {
    assert.equal((err as Error).message, 'unknown agents: ghost, spook');
  }
  try {
    w.dispatcher.resolve(['ghost']);
  } catch (err) {
    assert.equal((err as Error).message, 'unknown agent: ghost');
  }
  for (const hostile of ['../etc/passwd', '', 'a b', 'known:0', 'known:70000', '-x']) {
    assert.equal(codeOf(() => w.dispatcher.resolve([hostile])), 'CE_ERR_UNKNOWN_AGENT', hostile);
  }
  assert.equal(codeOf(() => w.dispatcher.resolve(Array.from({ length: 501 }, () => 'known'))), 'CE_ERR_USAGE');
  assert.equal(codeOf(() => w.dispatcher.resolve([])), 'CE_ERR_USAGE');
  assert.equal(await rejectsCode(w.dispatcher.run({ hosts: ['known'], script: '../x' })), 'CE_ERR_USAGE');
  assert.equal(await rejectsCode(w.dispatcher.run({ hosts: ['known'], script: 'ok', args: [1] as unknown as string[] })), 'CE_ERR_USAGE');
  assert.equal(await rejectsCode(w.dispatcher.run({ hosts: ['known'], script: 'ok', reqid: '../../x' })), 'CE_ERR_BAD_REQUEST');
  assert.equal(a.requests.length, 0);
  assert.equal(w.audit.length, 0);

  // address selection: ip when looked up by ip, else the hostname; port suffix wins
  w.env.register('byname', 7443, { lookup_by: 'hostname', ip: '10.9.9.9' });
  w.env.register('noip', 7443, { lookup_by: 'ip', ip: '' });
  const [byname, noip, withPort] = w.dispatcher.resolve(['byname', 'noip', 'known:7443']);
  assert.deepEqual([byname!.address, byname!.port, byname!.target], ['byname', 7443, 'byname']);
  assert.deepEqual([noip!.address, noip!.target], ['noip', 'noip']);
  assert.deepEqual([withPort!.name, withPort!.address, withPort!.target], ['known', '127.0.0.1', '127.0.0.1']);
});

test('ping and capabilities: reported_hostname when the agent names itself differently; ping failure shape', async (t) => {
  const w = await world(t);
  await w.start('same');
  await w.start('alias', { hostname: 'alias.internal.example' });
  w.env.register('gone', await freePort());
  const { reqid, results } = await w.dispatcher.ping({ hosts: ['same', 'alias', 'gone'] });
  assert.equal(results[0]!.status, 'ok');
  assert.equal(results[0]!.host, 'same');
  assert.equal('reported_hostname' in results[0]!, false);
  assert.equal(results[0]!.reqid, reqid);
  assert.equal(results[1]!.host, 'alias');
  assert.equal(results[1]!.reported_hostname, 'alias.internal.example');
  assert.deepEqual(Object.keys(results[2]!).sort(), ['error', 'host', 'rtt', 'status']);
  const pings = w.audit.filter((e) => e.action === 'ping');
  assert.equal(pings.filter((e) => e.result === 'ok').length, 2);
  assert.equal(pings.filter((e) => typeof e.error === 'string' && e.level === 'err').length, 1);
  assert.ok(pings.every((e) => e.reqid === reqid));

  const caps = await w.dispatcher.capabilities({ hosts: ['alias'] });
  assert.equal(caps.results[0]!.reported_hostname, 'alias.internal.example');
  assert.deepEqual((caps.results[0]!.scripts as Array<{ name: string }>).map((s) => s.name), ['fail', 'hello', 'slow']);
});

test('max_parallel bounds the hosts in flight; many requests to one agent reuse its connections', async (t) => {
  const w = await world(t, { max_parallel: 2 });
  const agent = await w.start('busy', { delayMs: 150 });
  const names = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
  for (const n of names) w.env.register(n, agent.port);
  const started = Date.now();
  const { results } = await w.dispatcher.ping({ hosts: names });
  assert.ok(results.every((r) => r.status === 'ok'));
  assert.equal(agent.maxInFlight(), 2);
  assert.ok(Date.now() - started >= 3 * 150);
  assert.ok(agent.connections() <= 2, `connections: ${agent.connections()}`);

  const quick = await w.start('quick');
  for (let i = 0; i < 20; i++) await w.dispatcher.ping({ hosts: ['quick'] });
  assert.equal(quick.connections(), 1, 'one kept-alive connection for 20 sequential requests');
});

test('async: accepted, busy, aggregation through running to done, expired and fetch errors', async (t) => {
  const w = await world(t);
  await w.start('j1', { scripts: { job: { delayMs: 600, stdout: 'out\n', exit: 0 } } });
  await w.start('j2', { scripts: { job: { delayMs: 0, exit: 5, stderr: 'nope\n' } } });
  const first = await w.dispatcher.runAsync({ hosts: ['j1', 'j2'], script: 'job' });
  assert.deepEqual(first.results.map((r) => r.status), ['accepted', 'accepted']);
  assert.deepEqual(Object.keys(first.results[0]!).sort(), ['host', 'reqid', 'rtt', 'script', 'status']);
  const second = await w.dispatcher.runAsync({ hosts: ['j1'], script: 'job' });
  assert.deepEqual(second.results[0], { host: 'j1', script: 'job', status: 'busy', error: 'script already running', rtt: second.results[0]!.rtt, reqid: second.reqid });
  assert.equal(w.audit.filter((e) => e.action === 'dispatch' && e.mode === 'async').length, 2);

  let record: AsyncRunRecord = asyncRecordFromSubmit({ reqid: first.reqid, script: 'job', refs: ['j1', 'j2'], results: first.results });
  assert.deepEqual(record.pending, ['j1', 'j2']);
  assert.equal(record.complete, false);
  record = await aggregateRecord(w.dispatcher, record);
  assert.deepEqual(record.hosts.j1, { status: 'running' });
  assert.deepEqual(record.hosts.j2, { status: 'done', exit: 5, stdout: '', stderr: 'nope\n' });
  assert.deepEqual(record.pending, ['j1']);
  assert.equal(hostFailed(record.hosts.j2), true);

  // the agent goes away for a moment: j1 stays pending with fetch_error
  const port = w.agents.j1!.port;
  w.env.register('j1', await freePort());
  record = await aggregateRecord(w.dispatcher, record);
  assert.equal(record.hosts.j1!.status, 'running');
  assert.match(String(record.hosts.j1!.fetch_error), /connection refused/);
  assert.deepEqual(record.pending, ['j1']);
  w.env.register('j1', port);

  await new Promise((r) => setTimeout(r, 650));
  record = await aggregateRecord(w.dispatcher, record);
  assert.deepEqual(record.hosts.j1, { status: 'done', exit: 0, stdout: 'out\n', stderr: '' });
  assert.equal(record.complete, true);
  assert.deepEqual(record.pending, []);

  // a reqid the agent does not know: expired; an unregistered host: fetch_error
  const unknown = await aggregateRecord(w.dispatcher, {
    reqid: 'abcdef0123456789',
    script: 'job',
    mode: 'async',
    created: 0,
    hosts: { j2: { status: 'accepted' }, ghost: { status: 'accepted' } },
    pending: ['j2', 'ghost'],
    complete: false,
  });
  assert.deepEqual(unknown.hosts.j2, { status: 'expired' });
  assert.equal(unknown.hosts.ghost!.fetch_error, 'unknown agent: ghost');
  assert.deepEqual(unknown.pending, ['ghost']);
  const results: HostResult[] = w.audit.filter((e) => e.action === 'result') as unknown as HostResult[];
  assert.ok(results.length >= 4);
});

test('locks: held across the dispatch, conflicts refused, audited', async (t) => {
  const w = await world(t);
  await w.start('l1');
  const held = w.dispatcher.lock(['l1', 'l1:7443'], 'hello');
  assert.equal(held.pairs.length, 1);
  assert.equal(codeOf(() => w.dispatcher.lock(['l1'], 'hello')), 'CE_ERR_LOCKED');
  held.release();
  held.release();
  w.dispatcher.lock(['l1'], 'hello').release();
  assert.deepEqual(
    w.audit.filter((e) => e.action.startsWith('lock-')).map((e) => e.action),
    ['lock-acquire', 'lock-conflict', 'lock-release', 'lock-acquire', 'lock-release'],
  );
  assert.equal(w.audit.find((e) => e.action === 'lock-conflict')!.conflicts, 'l1:hello');
});

test('a missing dispatcher key is reported before anything is sent', async (t) => {
  const env = await makeDispatcherEnv(t, { key: '/nonexistent/dispatcher.key' });
  env.register('x', 7443);
  const d = createDispatcher({ config: env.config() });
  t.after(() => d.close());
  assert.equal(await rejectsCode(d.run({ hosts: ['x'], script: 'hello' })), 'CE_ERR_CERT_MISSING');
});

/**
 * Pairing end to end with the real binaries: dispatcher listener in the background or on a
 * terminal, agents in the background or the foreground.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { AGENT_BIN, DISPATCHER_BIN, Proc, cea, ced, waitUntil } from './helpers/cli.js';
import { makeDispatcher } from './helpers/env.js';
import { makeAgentEnv } from './helpers/agent-env.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

test('full flow: setup-ca, setup-ctrl-exec, pairing-mode start, background agent, approve, list-agents', async (t) => {
  const d = await makeDispatcher(t);
  const port = await freePort();
  const start = await ced(['pairing-mode', 'start', '--port', String(port), '--bind', '127.0.0.1', '--timeout', '120'], { env: d.env });
  assert.equal(start.code, 0, start.stderr);
  t.after(async () => {
    await ced(['pairing-mode', 'stop'], { env: d.env });
  });

  const a = makeAgentEnv(t, { name: 'web-01.example.test', port: 7443 });
  const req = await cea(['request-pairing', '--dispatcher', '127.0.0.1', '--port', String(port), '--background', '--timeout', '60'], { env: a.env });
  assert.equal(req.code, 0, req.stderr);
  const reqid = req.stdout.trim();
  assert.match(reqid, /^[0-9a-f]{16}$/, 'background prints only the reqid');

  const state = await waitUntil(() => a.requestState(), 10_000, 'pending state');
  const list = await ced(['list-requests'], { env: d.env });
  const line = list.stdout.split('\n').find((l) => l.startsWith(reqid));
  assert.ok(line, list.stdout);
  assert.match(line, /web-01\.example\.test\s+127\.0\.0\.1/);
  assert.equal(line.trim().split(/\s+/).pop(), state.code, 'dispatcher shows the code the agent computed');

  const approve = await ced(['approve', reqid], { env: d.env });
  assert.equal(approve.code, 0, approve.stderr);
  const done = await waitUntil(() => (a.requestState()?.outcome ? a.requestState() : undefined), 15_000, 'background outcome');
  assert.equal(done.outcome, 'approved');
  assert.equal(done.exit, 0);

  assert.equal(statSync(join(a.certDir, 'agent.key')).mode & 0o777, 0o600);
  const cert = new X509Certificate(readFileSync(join(a.certDir, 'agent.crt')));
  assert.match(cert.subject, /CN=web-01\.example\.test/);
  assert.equal(readFileSync(join(a.certDir, 'ca.crt'), 'utf8'), readFileSync(join(d.caDir, 'ca.crt'), 'utf8'));
  const dispSerial = new X509Certificate(readFileSync(join(d.caDir, 'dispatcher.crt'))).serialNumber.toLowerCase().replace(/^0+/, '');
  const map = readFileSync(join(a.stateDir, 'ctrl-exec-dispatchers'), 'utf8');
  assert.match(map, new RegExp(`^${dispSerial} test-dispatcher$`, 'm'));
  assert.ok(a.audit().some((e) => e.action === 'pair-complete' && e.dispatcher === 'test-dispatcher' && e.status === 'approved'));

  const agents = await ced(['list-agents', '--json'], { env: d.env });
  assert.equal(agents.code, 0, agents.stderr);
  const records = JSON.parse(agents.stdout) as Array<Record<string, unknown>>;
  assert.equal(records.length, 1);
  const rec = records[0]!;
  assert.deepEqual(Object.keys(rec).sort(), [
    'dispatcher_serial', 'expiry', 'hostname', 'ip', 'lookup_by', 'paired', 'port', 'reqid', 'serial_broadcast', 'serial_confirmed', 'serial_status', 'tags',
  ]);
  assert.equal(rec.hostname, 'web-01.example.test');
  assert.equal(rec.ip, '127.0.0.1');
  assert.equal(rec.port, 7443);
  assert.equal(rec.lookup_by, 'hostname');
  assert.equal(rec.reqid, reqid);
  assert.equal(rec.dispatcher_serial, dispSerial);
  assert.equal(rec.serial_status, 'current');
  assert.match(rec.paired as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(rec.expiry as string, /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/);

  const status = await cea(['pairing-status'], { env: a.env });
  assert.equal(status.code, 0);
  assert.match(status.stdout, /^Paired\. Certificate expires: /);

  const table = await ced(['list-agents'], { env: d.env });
  assert.match(table.stdout, /^HOSTNAME\s+IP\s+PORT\s+LOOKUP\s+PAIRED\s+CERT EXPIRY\s+DAYS LEFT/);
  assert.match(table.stdout, /web-01\.example\.test\s+127\.0\.0\.1\s+7443\s+hostname/);
});

test('a background agent with --timeout 2 exits 2 and leaves no key or CSR behind', async (t) => {
  const d = await makeDispatcher(t);
  const port = await freePort();
  assert.equal((await ced(['pairing-mode', 'start', '--port', String(port), '--bind', '127.0.0.1', '--timeout', '60'], { env: d.env })).code, 0);
  t.after(async () => {
    await ced(['pairing-mode', 'stop'], { env: d.env });
  });
  const a = makeAgentEnv(t, { name: 'slow-01' });
  const req = await cea(['request-pairing', '--dispatcher', '127.0.0.1', '--port', String(port), '--background', '--timeout', '2'], { env: a.env });
  assert.equal(req.code, 0, req.stderr);
  const done = await waitUntil(() => (a.requestState()?.outcome ? a.requestState() : undefined), 10_000, 'timeout outcome');
  assert.equal(done.outcome, 'timeout');
  assert.equal(done.exit, 2);
  for (const f of ['agent.key', 'agent.crt', 'ca.crt', 'agent.csr']) assert.equal(existsSync(join(a.certDir, f)), false, f);
  assert.ok(a.audit().some((e) => e.action === 'pair-timeout'));
});

test('interactive denial: a background agent exits 3, a foreground agent prints the reason', async (t) => {
  const d = await makeDispatcher(t);
  const cmd = [process.execPath, DISPATCHER_BIN, 'pairing-mode', '--port', '0', '--bind', '127.0.0.1', '--timeout', '120'].map(shellQuote).join(' ');
  const tty = new Proc('', [], { command: 'script', argv: ['-qfec', cmd, '/dev/null'], env: d.env });
  t.after(() => tty.stop('SIGKILL'));
  const port = (await tty.waitFor(/Pairing mode active on port (\d+)/))[1]!;

  const bg = makeAgentEnv(t, { name: 'bg-deny' });
  const r = await cea(['request-pairing', '--dispatcher', '127.0.0.1', '--port', port, '--background', '--timeout', '60'], { env: bg.env });
  assert.equal(r.code, 0, r.stderr);
  await tty.waitFor(/Hostname:\s+bg-deny[\s\S]*\[a\/d\/s\]: /);
  tty.write('d\n');
  const done = await waitUntil(() => (bg.requestState()?.outcome ? bg.requestState() : undefined), 10_000, 'denied outcome');
  assert.equal(done.outcome, 'denied');
  assert.equal(done.exit, 3);
  assert.equal(existsSync(join(bg.certDir, 'agent.key')), false);

  const fg = makeAgentEnv(t, { name: 'fg-deny' });
  const agent = new Proc(AGENT_BIN, ['request-pairing', '--dispatcher', '127.0.0.1', '--port', port], { env: fg.env });
  t.after(() => agent.stop('SIGKILL'));
  const code = (await agent.waitFor(/Pairing code: (\d{6})/))[1]!;
  await tty.waitFor(new RegExp(`Hostname:\\s+fg-deny[\\s\\S]*Code:\\s+${code}[\\s\\S]*\\[a/d/s\\]: `));
  tty.write('d\n');
  const exit = await agent.exited;
  assert.notEqual(exit.code, 0);
  assert.match(agent.stdout + agent.stderr, /Pairing denied: rejected by operator/);
  assert.equal(existsSync(join(fg.certDir, 'agent.key')), false);
});

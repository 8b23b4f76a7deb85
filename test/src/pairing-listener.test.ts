/**
 * The dispatcher's pairing listener, driven by a raw client written from the wire spec:
 * framing conformance, approve/deny, and hostile input while the listener keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, randomBytes } from 'node:crypto';
import { ced, DISPATCHER_BIN, Proc, waitUntil } from './helpers/cli.js';
import { makeDispatcher, type DispatcherEnv } from './helpers/env.js';
import { RawPairingConnection, codeOf, opensslCsr } from './helpers/raw-pairing-client.js';

async function startListener(t: { after: (fn: () => Promise<void>) => void }, d: DispatcherEnv, args: string[] = []): Promise<{ proc: Proc; port: number }> {
  const proc = new Proc(DISPATCHER_BIN, ['pairing-mode', '--port', '0', '--bind', '127.0.0.1', '--timeout', '120', ...args], { env: d.env });
  t.after(() => proc.stop());
  const m = await proc.waitFor(/Pairing mode active on port (\d+)/);
  return { proc, port: Number(m[1]) };
}

function nonce(): string {
  return randomBytes(16).toString('hex');
}

function opensslText(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem }).toString();
}

test('framing conformance: raw client pairs, list-requests shows the same code, approve delivers the cert on the same connection', async (t) => {
  const d = await makeDispatcher(t);
  const { port } = await startListener(t, d);
  const { csr } = opensslCsr('web-01.example.com');
  const n = nonce();
  const conn = await RawPairingConnection.connect(port);
  t.after(() => conn.destroy());
  conn.sendPair({ hostname: 'web-01.example.com', csr, nonce: n, port: '7443', ip: '127.0.0.1', lookup_by: 'ip' });

  const ack = await conn.readResponse();
  assert.equal(ack.statusLine, 'HTTP/1.0 200 OK');
  assert.equal(ack.headers['content-type'], 'application/json');
  assert.equal(ack.body.status, 'pending');
  const reqid = ack.body.reqid as string;
  assert.match(reqid, /^[0-9a-f]{16}$/);

  const list = await ced(['list-requests'], { env: d.env });
  assert.equal(list.code, 0, list.stderr);
  const line = list.stdout.split('\n').find((l) => l.startsWith(reqid));
  assert.ok(line, list.stdout);
  assert.match(line, /web-01\.example\.com/);
  assert.match(line, /127\.0\.0\.1/);
  assert.ok(line.endsWith(codeOf(csr)), `code ${codeOf(csr)} in ${line}`);

  const queued = JSON.parse(readFileSync(join(d.stateDir, 'pairing', `${reqid}.json`), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(queued).sort(), ['code', 'csr', 'hostname', 'id', 'ip', 'lookup_by', 'nonce', 'port', 'received', 'reverse_confirmed', 'reverse_dns', 'source_ip']);
  assert.equal(queued.port, 7443, 'port given as a JSON string is stored as a number');

  const approved = await ced(['approve', reqid], { env: d.env });
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, new RegExp(`Approved 'web-01\\.example\\.com' \\(${reqid}\\)\\. Cert delivered on next poll\\.`));

  const verdict = await conn.readResponse(5000);
  assert.equal(verdict.statusLine, 'HTTP/1.0 200 OK');
  assert.equal(verdict.body.status, 'approved');
  assert.equal(verdict.body.nonce, n);
  assert.equal(verdict.body.dispatcher_id, 'test-dispatcher');
  const cert = new X509Certificate(verdict.body.cert as string);
  const caPem = readFileSync(join(d.caDir, 'ca.crt'), 'utf8');
  assert.equal(verdict.body.ca, caPem);
  assert.ok(cert.verify(new X509Certificate(caPem).publicKey), 'cert signed by the CA');
  assert.match(cert.subject, /CN=web-01\.example\.com/);
  const dispSerial = new X509Certificate(readFileSync(join(d.caDir, 'dispatcher.crt'))).serialNumber.toLowerCase().replace(/^0+/, '');
  assert.equal(verdict.body.dispatcher_serial, dispSerial);
  await conn.closed();

  const rec = JSON.parse(readFileSync(join(d.stateDir, 'agents', 'web-01.example.com.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(rec.lookup_by, 'ip');
  assert.equal(rec.ip, '127.0.0.1');
  assert.equal(rec.serial_status, 'current');
  await waitUntil(() => !existsSync(join(d.stateDir, 'pairing', `${reqid}.approved`)), 5000, 'verdict file removed after delivery');
  const actions = d.audit().map((e) => e.action);
  assert.ok(actions.includes('pair-request') && actions.includes('pair-approve'), actions.join(','));
});

test('deny delivers the operator verdict and removes the request', async (t) => {
  const d = await makeDispatcher(t);
  const { port } = await startListener(t, d);
  const conn = await RawPairingConnection.connect(port);
  t.after(() => conn.destroy());
  conn.sendPair({ hostname: 'db-01', csr: opensslCsr('db-01').csr, nonce: nonce(), port: 7443 });
  const ack = await conn.readResponse();
  const r = await ced(['deny', ack.body.reqid as string], { env: d.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `Denied request '${ack.body.reqid as string}'.`);
  const verdict = await conn.readResponse(5000);
  assert.deepEqual(verdict.body, { status: 'denied', reason: 'rejected by operator' });
  assert.equal(existsSync(join(d.stateDir, 'agents', 'db-01.json')), false);
  assert.ok(d.audit().some((e) => e.action === 'pair-deny' && e.agent === 'db-01'));
});

test('hostile input is answered with the documented response while the listener keeps serving', async (t) => {
  const d = await makeDispatcher(t, { pairing_rate_limit_disable: 1 });
  const { proc, port } = await startListener(t, d);

  // body over 64 KiB: refused from the header alone
  let c = await RawPairingConnection.connect(port);
  c.sendRaw(`POST /pair HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${65537}\r\n\r\n`);
  assert.deepEqual((await c.readResponse()).body, { status: 'error', reason: 'request too large' });
  await c.closed();

  // invalid JSON, missing csr, bad hostname
  for (const [body, reason] of [
    ['{not json', 'invalid request'],
    [JSON.stringify({ hostname: 'x', nonce: nonce() }), 'invalid request'],
    [JSON.stringify({ hostname: '../../x', csr: 'x', nonce: nonce() }), 'invalid hostname'],
  ] as const) {
    c = await RawPairingConnection.connect(port);
    c.sendPair(body);
    assert.deepEqual((await c.readResponse()).body, { status: 'error', reason });
    await c.closed();
  }

  // a bare TCP probe and non-TLS garbage are tolerated
  await new Promise<void>((resolve) => net.connect(port, '127.0.0.1', function (this: net.Socket) { this.destroy(); resolve(); }));
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.0\r\n\r\n\x00\x01garbage'));
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });

  // ten pending requests fill the queue; the eleventh is refused
  const held: RawPairingConnection[] = [];
  t.after(() => held.forEach((h) => h.destroy()));
  const { csr } = opensslCsr('filler');
  for (let i = 0; i < 10; i++) {
    const h = await RawPairingConnection.connect(port);
    h.sendPair({ hostname: `filler-${i}`, csr, nonce: nonce(), port: '7443' });
    assert.equal((await h.readResponse()).body.status, 'pending');
    held.push(h);
  }
  c = await RawPairingConnection.connect(port);
  c.sendPair({ hostname: 'eleventh', csr, nonce: nonce(), port: '7443' });
  assert.deepEqual((await c.readResponse()).body, { status: 'error', reason: 'pairing queue full' });
  await c.closed();

  const rejects = d.audit().filter((e) => e.action === 'pair-reject').map((e) => e.reason);
  assert.deepEqual(rejects, ['body-too-large', 'invalid-hostname', 'queue-full']);
  assert.equal(proc.child.exitCode, null, 'listener still running');

  // a 1024-bit CSR is queued but approve refuses it and writes nothing
  held.pop()!.destroy();
  await waitUntil(() => readdirSync(join(d.stateDir, 'pairing')).filter((f) => f.endsWith('.json')).length === 9, 5000, 'abandoned request removed');
  const weak = await RawPairingConnection.connect(port);
  t.after(() => weak.destroy());
  weak.sendPair({ hostname: 'weak-01', csr: opensslCsr('weak-01', 1024).csr, nonce: nonce(), port: '7443' });
  const weakAck = await weak.readResponse();
  assert.equal(weakAck.body.status, 'pending');
  const refused = await ced(['approve', weakAck.body.reqid as string, '--json'], { env: d.env });
  assert.equal(refused.code, 1);
  assert.equal(JSON.parse(refused.stdout).code, 'CE_ERR_CSR_KEY_TOO_SMALL');
  assert.equal(existsSync(join(d.stateDir, 'pairing', `${weakAck.body.reqid as string}.approved`)), false);
  assert.equal(existsSync(join(d.stateDir, 'agents', 'weak-01.json')), false);
});

test('approve validates its arguments and unknown ids', async (t) => {
  const d = await makeDispatcher(t);
  const cases: Array<[string[], RegExp, number]> = [
    [['approve', '0123456789abcdef'], /No pending request '0123456789abcdef'/, 1],
    [['approve', '../../etc/passwd'], /No pending request/, 1],
    [['approve', '0123456789abcdef', '--lookup-by', 'dns'], /--lookup-by must be 'ip' or 'hostname'/, 2],
    [['approve', '0123456789abcdef', '--agent-port', '70000'], /--agent-port must be a port number \(1-65535\)/, 2],
    [['approve', '0123456789abcdef', '--ip', 'not-an-ip'], /--ip must be an IPv4 or IPv6 address/, 2],
    [['deny', 'ffffffffffffffff'], /No pending request 'ffffffffffffffff'/, 1],
  ];
  for (const [args, re, code] of cases) {
    const r = await ced(args, { env: d.env });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('pairing-mode --timeout stops by itself; out-of-range timeouts are usage errors', async (t) => {
  const d = await makeDispatcher(t);
  for (const bad of ['0', '601', 'abc']) {
    const r = await ced(['pairing-mode', '--timeout', bad, '--port', '0'], { env: d.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--timeout must be between 1 and 600 seconds\./);
  }
  const started = Date.now();
  const r = await ced(['pairing-mode', '--timeout', '1', '--port', '0', '--bind', '127.0.0.1'], { env: d.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Pairing mode timed out after 1s\. Stopped\./);
  assert.ok(Date.now() - started < 10_000);
  const actions = d.audit().map((e) => e.action);
  assert.deepEqual(actions.filter((a) => String(a).startsWith('pairing-mode')), ['pairing-mode-start', 'pairing-mode-timeout']);
});

test('per-IP rate limit on the pairing port blocks and logs rate-block', async (t) => {
  const d = await makeDispatcher(t, { pairing_rate_limit_volume: '3/60/300' });
  const { port, proc } = await startListener(t, d);
  const outcomes: string[] = [];
  for (let i = 0; i < 5; i++) {
    outcomes.push(
      await new Promise<string>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          s.destroy();
          resolve('ok');
        });
        s.on('error', () => resolve('dropped'));
      }),
    );
  }
  assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'dropped', 'dropped']);
  assert.equal(d.audit().filter((e) => e.action === 'rate-block').length, 1);
  assert.equal(proc.child.exitCode, null);
});

test('pairing-mode start/stop runs the listener in the background with a pid file', async (t) => {
  const d = await makeDispatcher(t);
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const start = await ced(['pairing-mode', 'start', '--port', String(port), '--bind', '127.0.0.1', '--timeout', '60'], { env: d.env });
  t.after(async () => {
    await ced(['pairing-mode', 'stop'], { env: d.env });
  });
  assert.equal(start.code, 0, start.stderr);
  const m = /Pairing mode started in the background on port (\d+) \(PID (\d+)\)\./.exec(start.stdout);
  assert.ok(m, start.stdout);
  const pid = Number(m[2]);
  assert.equal(readFileSync(join(d.stateDir, 'pairing-mode.pid'), 'utf8').trim(), String(pid));

  const again = await ced(['pairing-mode', 'start', '--port', String(port)], { env: d.env });
  assert.match(again.stdout, new RegExp(`Pairing mode is already running in the background \\(PID ${pid}\\)\\.`));

  const conn = await RawPairingConnection.connect(port);
  conn.sendPair({ hostname: 'bg-01', csr: opensslCsr('bg-01').csr, nonce: nonce(), port: '7443' });
  assert.equal((await conn.readResponse()).body.status, 'pending');
  conn.destroy();

  const stop = await ced(['pairing-mode', 'stop'], { env: d.env });
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout.trim(), `Pairing mode stopped (was PID ${pid}); pairing port closed.`);
  assert.equal(existsSync(join(d.stateDir, 'pairing-mode.pid')), false);
  await assert.rejects(RawPairingConnection.connect(port));
  const none = await ced(['pairing-mode', 'stop'], { env: d.env });
  assert.equal(none.stdout.trim(), 'No background pairing mode is running.');
  const bad = await ced(['pairing-mode', 'restart'], { env: d.env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /pairing-mode \[start\|stop\] \[--timeout <1-600>\]/);
  writeFileSync(join(d.stateDir, 'unused'), '');
});

test('a certificate from the pairing CA shows no CA:TRUE even when the CSR asks for it', async (t) => {
  const d = await makeDispatcher(t);
  const { port } = await startListener(t, d);
  const { csr } = opensslCsr('evil-01', 2048, ['-addext', 'basicConstraints=critical,CA:TRUE']);
  const conn = await RawPairingConnection.connect(port);
  t.after(() => conn.destroy());
  conn.sendPair({ hostname: 'evil-01', csr, nonce: nonce(), port: '7443' });
  const ack = await conn.readResponse();
  assert.equal((await ced(['approve', ack.body.reqid as string], { env: d.env })).code, 0);
  const verdict = await conn.readResponse(5000);
  assert.doesNotMatch(opensslText(verdict.body.cert as string), /CA:TRUE/);
});

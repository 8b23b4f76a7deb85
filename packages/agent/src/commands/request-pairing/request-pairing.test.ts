import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  certInfo,
  certMatchesKey,
  createCa,
  createCsr,
  generateRsaKey,
  issueCertificate,
  loadCa,
  verifyIssuedBy,
  type LoadedCa,
} from '@ctrl-exec/core';
import { TestPairingServer, type VerdictPlan } from '../../testing/pairing-server.js';
import { processAlive } from '../../pairing/request-state.js';
import { AGENT_NAME, closedPort, makeAgentEnv, readAudit, readJson, runAgent, waitFor, type AgentEnv } from '../../testing/agent-fixture.js';

let ca: LoadedCa;
let caRoot: string;

before(async () => {
  caRoot = mkdtempSync(join(tmpdir(), 'cea-ca-'));
  await createCa({ dir: join(caRoot, 'ca'), keyBits: 2048 });
  ca = loadCa(join(caRoot, 'ca'));
});
after(() => rmSync(caRoot, { recursive: true, force: true }));

async function startServer(t: { after(fn: () => unknown): void }, plan: VerdictPlan): Promise<{ server: TestPairingServer; port: number }> {
  const server = new TestPairingServer(ca, plan);
  const port = await server.listen();
  t.after(() => server.close());
  return { server, port };
}

function pairArgs(env: AgentEnv, port: number, ...extra: string[]): string[] {
  return ['request-pairing', '--dispatcher', '127.0.0.1', '--port', String(port), '--config', env.conf, ...extra];
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function assertNothingStored(env: AgentEnv): void {
  for (const p of [env.cert, env.key, env.ca, env.trustedMap]) assert.equal(existsSync(p), false, `${p} must not exist`);
  // no key, CSR or temp file left anywhere in the certificate directory
  if (existsSync(env.certDir)) assert.deepEqual(readdirSync(env.certDir), []);
}

describe('request-pairing (foreground)', () => {
  test('pairs with a server that follows wire-protocol §2.4 and stores everything', async (t) => {
    const { server, port } = await startServer(t, { kind: 'approve', delayMs: 100, holdOpen: true });
    const env = makeAgentEnv(t);
    // an existing trusted dispatcher must survive the pairing
    mkdirSync(env.stateDir, { recursive: true });
    writeFileSync(env.trustedMap, '# ctrl-exec trusted dispatchers: <serial> <id>, one per line.\n1a old-dispatcher\n');

    const before = await runAgent(['pairing-status', '--config', env.conf]);
    assert.equal(before.code, 1);
    assert.match(before.stdout, /^Not paired\. Reason: .+\n$/);
    const pairedBefore = await runAgent(['paired', '--config', env.conf]);
    assert.equal(pairedBefore.code, 1);
    assert.equal(pairedBefore.stdout + pairedBefore.stderr, '');

    const r = await runAgent(pairArgs(env, port, '--lookup-by', 'hostname'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(server.problems, []);
    assert.equal(server.requests.length, 1);
    const req = server.requests[0]!;
    assert.equal(req.csrCn, AGENT_NAME);
    assert.equal(req.body.hostname, AGENT_NAME);
    assert.equal(req.body.port, '7443');
    assert.equal(req.body.ip, '127.0.0.1');
    assert.equal(req.body.lookup_by, 'hostname');
    assert.ok(server.bareConnections >= 1, 'the TCP probe reached the server before the TLS connection');

    const codeLine = /^Pairing code: (\d{6})$/m.exec(r.stdout);
    assert.ok(codeLine, r.stdout);
    assert.equal(codeLine[1], req.code);
    assert.match(r.stdout, /^Pairing complete\. Certificates stored\.$/m);
    assert.match(r.stdout, new RegExp(`^Start the agent: ctrl-exec-agent serve --config ${env.conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));

    // stored files: key 0600 from creation, certificates 0644, all consistent
    assert.equal(mode(env.key), 0o600);
    assert.equal(mode(env.cert), 0o644);
    assert.equal(mode(env.ca), 0o644);
    const certPem = readFileSync(env.cert, 'utf8');
    assert.ok(certMatchesKey(certPem, readFileSync(env.key, 'utf8')));
    assert.equal(readFileSync(env.ca, 'utf8'), ca.certPem);
    assert.ok(verifyIssuedBy(certPem, ca.certPem));
    assert.equal(certInfo(certPem).subjectCn, AGENT_NAME);

    const serial = certInfo(ca.certPem).serial;
    const map = readFileSync(env.trustedMap, 'utf8');
    assert.match(map, /^1a old-dispatcher$/m);
    assert.match(map, new RegExp(`^${serial} test-dispatcher$`, 'm'));

    const audit = readAudit(env.audit).filter((e) => e.action === 'pair-complete');
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.dispatcher, 'test-dispatcher');
    assert.equal(audit[0]!.dispatcher_host, '127.0.0.1');
    assert.equal(audit[0]!.status, 'approved');
    assert.equal(audit[0]!.ident, 'ctrl-exec-agent');

    const status = await runAgent(['pairing-status', '--config', env.conf]);
    assert.equal(status.code, 0);
    assert.equal(status.stdout, `Paired. Certificate expires: ${certInfo(certPem).notAfter}\n`);
    const paired = await runAgent(['paired', '--config', env.conf]);
    assert.equal(paired.code, 0);
    assert.equal(paired.stdout + paired.stderr, '');
  });

  test('the agent.conf location can come from $CTRL_EXEC_AGENT_CONFIG, and options may precede the mode', async (t) => {
    const { server, port } = await startServer(t, { kind: 'approve', dispatcherId: '' });
    const env = makeAgentEnv(t);
    const r = await runAgent(['--dispatcher', '127.0.0.1', 'request-pairing', '--port', String(port)], { env: { CTRL_EXEC_AGENT_CONFIG: env.conf } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(server.problems, []);
    assert.equal('lookup_by' in server.requests[0]!.body, false);
    assert.equal(mode(env.stateDir), 0o750);
    // no dispatcher_id: the serial is the id
    const serial = certInfo(ca.certPem).serial;
    assert.match(readFileSync(env.trustedMap, 'utf8'), new RegExp(`^${serial} ${serial}$`, 'm'));
  });

  test('no dispatcher serial: certificates stored, nothing trusted', async (t) => {
    const { port } = await startServer(t, { kind: 'approve', dispatcherSerial: '' });
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, port, '--ctrl-exec', '127.0.0.1'));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(env.cert));
    assert.equal(existsSync(env.trustedMap), false);
  });

  test('a verdict with a different nonce is refused and nothing is stored', async (t) => {
    const { port } = await startServer(t, { kind: 'approve', wrongNonce: true });
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, port));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Pairing failed: nonce mismatch in pairing result\n');
    assertNothingStored(env);
    const denied = readAudit(env.audit).filter((e) => e.action === 'pair-denied');
    assert.equal(denied.length, 1);
    assert.equal(denied[0]!.reason, 'nonce mismatch in pairing result');
  });

  test('a denial is reported and nothing is stored', async (t) => {
    const { port } = await startServer(t, { kind: 'deny' });
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, port));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Pairing denied: rejected by operator\n');
    assertNothingStored(env);
  });

  test('--timeout bounds the wait in the foreground too', async (t) => {
    const { port } = await startServer(t, { kind: 'none' });
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, port, '--timeout', '1'));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Pairing failed: no verdict from ctrl-exec within 1 second.\n');
    assertNothingStored(env);
    assert.ok(readAudit(env.audit).some((e) => e.action === 'pair-timeout'));
  });

  test('a certificate that is not for our key is refused', async (t) => {
    // an approval carrying a valid certificate from the right CA, for the right name, but another key
    const env = makeAgentEnv(t);
    const foreignKey = await generateRsaKey(2048);
    const foreign = issueCertificate(ca, createCsr(foreignKey, AGENT_NAME), { days: 30 });
    const server = tls.createServer({ cert: ca.certPem, key: ca.keyPem });
    server.on('secureConnection', (s) => {
      let buf = '';
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        const cl = /content-length:\s*(\d+)/i.exec(buf);
        if (end < 0 || !cl || buf.length < end + 4 + Number(cl[1])) return;
        const body = JSON.parse(buf.slice(end + 4)) as { nonce: string };
        const send = (o: unknown) => {
          const j = JSON.stringify(o);
          return `HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(j)}\r\n\r\n${j}`;
        };
        s.end(send({ status: 'pending', reqid: '0123456789abcdef' }) + send({ status: 'approved', cert: foreign.certPem, ca: ca.certPem, nonce: body.nonce, dispatcher_serial: 'ab', dispatcher_id: 'd1' }));
      });
    });
    server.on('tlsClientError', (_e, s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const r = await runAgent(pairArgs(env, (server.address() as net.AddressInfo).port));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Pairing failed: the certificate in the pairing result is not for our key.\n');
    assertNothingStored(env);
  });
});

describe('request-pairing --background', () => {
  test('timeout: the parent prints only the reqid and exits 0; the worker gives up with exit 2, storing nothing', async (t) => {
    const { server, port } = await startServer(t, { kind: 'none' });
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, port, '--background', '--timeout', '2'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{16}\n$/);
    const reqid = r.stdout.trim();
    assert.equal(server.requests[0]?.reqid, reqid);
    assert.ok(r.ms < 15_000, `parent took ${r.ms} ms`);

    const pending = readJson(env.requestState);
    assert.ok(pending, 'the worker recorded its request before the parent returned');
    assert.equal(pending.outcome, undefined, 'a 2 s wait cannot be over yet');
    {
      assert.equal(pending.reqid, reqid);
      assert.equal(typeof pending.pid, 'number');
      assert.equal(pending.dispatcher, '127.0.0.1');
      assert.equal(pending.port, port);
      assert.equal(pending.timeout, 2);
      const status = await runAgent(['pairing-status', '--config', env.conf]);
      assert.equal(status.code, 1);
      assert.match(status.stdout, new RegExp(`^Pairing request ${reqid} pending with 127\\.0\\.0\\.1 \\(pid ${String(pending.pid)}\\), code \\d{6}\\.$`, 'm'));
    }

    const outcome = await waitFor('the timeout outcome', () => {
      const s = readJson(env.requestState);
      return s && s.outcome !== undefined ? s : undefined;
    }, 8000);
    assert.equal(outcome.reqid, reqid);
    assert.equal(outcome.outcome, 'timeout');
    assert.equal(outcome.exit, 2);
    await waitFor('the worker to exit', () => (processAlive(pending.pid as number) ? undefined : true), 5000);
    assertNothingStored(env);
    assert.ok(readAudit(env.audit).some((e) => e.action === 'pair-timeout' && e.reqid === reqid));

    const status = await runAgent(['pairing-status', '--config', env.conf]);
    assert.equal(status.code, 1);
    assert.match(status.stdout, new RegExp(`^Last pairing request ${reqid} with 127\\.0\\.0\\.1: timeout`, 'm'));
  });

  test('approved: the worker stores the certificates and records exit 0', async (t) => {
    const { server, port } = await startServer(t, { kind: 'approve', delayMs: 300 });
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, port, '--background'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{16}\n$/);
    assert.equal(r.stdout.includes('Pairing code'), false);
    const outcome = await waitFor('the approved outcome', () => {
      const s = readJson(env.requestState);
      return s && s.outcome !== undefined ? s : undefined;
    }, 10_000);
    assert.equal(outcome.outcome, 'approved');
    assert.equal(outcome.exit, 0);
    assert.deepEqual(server.problems, []);
    assert.equal(mode(env.key), 0o600);
    assert.ok(certMatchesKey(readFileSync(env.cert, 'utf8'), readFileSync(env.key, 'utf8')));
    assert.ok(readAudit(env.audit).some((e) => e.action === 'pair-complete' && e.dispatcher === 'test-dispatcher'));
  });

  test('denied: the worker records exit 3 and stores nothing', async (t) => {
    const { port } = await startServer(t, { kind: 'deny', delayMs: 200 });
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, port, '--background', '--timeout', '20'));
    assert.equal(r.code, 0, r.stderr);
    const reqid = r.stdout.trim();
    const outcome = await waitFor('the denied outcome', () => {
      const s = readJson(env.requestState);
      return s && s.outcome !== undefined ? s : undefined;
    }, 10_000);
    assert.equal(outcome.outcome, 'denied');
    assert.equal(outcome.exit, 3);
    assert.equal(outcome.reason, 'rejected by operator');
    assertNothingStored(env);
    const denied = readAudit(env.audit).filter((e) => e.action === 'pair-denied');
    assert.deepEqual(denied.map((e) => [e.reqid, e.reason]), [[reqid, 'rejected by operator']]);
  });

  test('a failure before the acknowledgement is reported by the parent, exit 1', async (t) => {
    const env = makeAgentEnv(t);
    const port = await closedPort();
    const r = await runAgent(pairArgs(env, port, '--background'));
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `Pairing failed: could not connect to ctrl-exec at 127.0.0.1:${port}.\n`);
    assert.equal(existsSync(env.requestState), false);
  });
});

describe('request-pairing diagnostics', () => {
  test('unresolvable dispatcher name', async (t) => {
    const env = makeAgentEnv(t);
    const r = await runAgent(['request-pairing', '--dispatcher', 'nonexistent.invalid', '--config', env.conf]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "Pairing failed: could not resolve ctrl-exec hostname 'nonexistent.invalid'.\n");
  });

  test('nothing listening', async (t) => {
    const env = makeAgentEnv(t);
    const port = await closedPort();
    const r = await runAgent(pairArgs(env, port));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Pairing failed: could not connect to ctrl-exec at 127.0.0.1:${port}.\n`);
    assert.equal(r.stdout, '');
  });

  test('a plain TCP server that closes at once', async (t) => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, port));
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^Pairing failed: reached 127\\.0\\.0\\.1:${port}, but it is not responding as a pairing listener\\.\\n$`));
    assertNothingStored(env);
  });

  for (const [name, answer] of [
    ['garbage', Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')],
    ['a response without Content-Length', Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"status":"pending","reqid":"0123456789abcdef"}')],
    ['a non-JSON body', Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello')],
    ['JSON that is not a pairing acknowledgement', Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 15\r\n\r\n{"status":"ok"}')],
  ] as const) {
    test(`a TLS server that answers ${name}`, async (t) => {
      const server = tls.createServer({ cert: ca.certPem, key: ca.keyPem }, (s) => {
        s.on('error', () => undefined);
        s.once('data', () => s.end(answer));
      });
      server.on('tlsClientError', (_e, s) => s.destroy());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      t.after(() => new Promise<void>((r) => server.close(() => r())));
      const port = (server.address() as net.AddressInfo).port;
      const env = makeAgentEnv(t);
      const r = await runAgent(pairArgs(env, port));
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `Pairing failed: reached 127.0.0.1:${port}, but it is not responding as a pairing listener.\n`);
      assertNothingStored(env);
    });
  }

  test('a dispatcher error is reported with its reason', async (t) => {
    const server = tls.createServer({ cert: ca.certPem, key: ca.keyPem }, (s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end('HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 48\r\n\r\n{"status":"error","reason":"pairing queue full"}'));
    });
    server.on('tlsClientError', (_e, s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const env = makeAgentEnv(t);
    const r = await runAgent(pairArgs(env, (server.address() as net.AddressInfo).port));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Pairing failed: pairing queue full\n');
  });
});

describe('request-pairing preconditions (before any network I/O)', () => {
  test('missing certificate directory', async (t) => {
    const env = makeAgentEnv(t, { noCertDir: true });
    const r = await runAgent(pairArgs(env, await closedPort()));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Cert directory '${env.certDir}' does not exist - has the agent been installed?\n`);
  });

  test('certificate directory not writable', async (t) => {
    const env = makeAgentEnv(t);
    chmodSync(env.certDir, 0o555);
    // root writes anywhere: run the agent without the capability that lets it
    const asRoot = process.getuid?.() === 0;
    const r = await runAgent(pairArgs(env, await closedPort()), asRoot ? { withoutDacOverride: true } : {});
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `Cannot write to '${env.certDir}' - re-run as root or with sudo\n`);
  });

  test('state directory that cannot be created', async (t) => {
    const env = makeAgentEnv(t);
    const blocker = join(env.root, 'not-a-dir');
    writeFileSync(blocker, '');
    writeFileSync(env.conf, readFileSync(env.conf, 'utf8').replace(/^state_dir = .*$/m, `state_dir = ${blocker}/state`));
    const r = await runAgent(pairArgs(env, await closedPort()));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Cannot use '${blocker}/state': '${blocker}' is not a directory\n`);
  });

  for (const [args, message] of [
    [['--timeout', '601', '--background'], '--timeout cannot exceed 600 seconds in background mode.'],
    [['--timeout', '0'], '--timeout must be a whole number of seconds from 1 to 600'],
    [['--timeout', 'abc'], '--timeout must be a whole number of seconds from 1 to 600'],
    [['--timeout', '-5'], '--timeout must be a whole number of seconds from 1 to 600'],
    [['--lookup-by', 'dns'], "--lookup-by must be 'ip' or 'hostname'"],
    [['--port', '0'], '--port must be an integer from 1 to 65535'],
    [['--port', '65536'], '--port must be an integer from 1 to 65535'],
    [['--port', '7444x'], '--port must be an integer from 1 to 65535'],
  ] as const) {
    test(`usage error: ${args.join(' ')}`, async (t) => {
      const env = makeAgentEnv(t);
      const port = await closedPort();
      const argv = pairArgs(env, port);
      // a later --port overrides the one pairArgs gave
      const r = await runAgent([...argv, ...args]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, `${message}\n`);
      assert.equal(r.stdout, '');
    });
  }

  test('usage error: no --dispatcher', async (t) => {
    const env = makeAgentEnv(t);
    const r = await runAgent(['request-pairing', '--config', env.conf]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, '--dispatcher <host> required for request-pairing\n');
  });

  test('a broken agent.conf is a configuration error (exit 78)', async (t) => {
    const env = makeAgentEnv(t);
    writeFileSync(env.conf, 'port = 7443\nthis is not a config line\n');
    const r = await runAgent(pairArgs(env, await closedPort()));
    assert.equal(r.code, 78);
    assert.match(r.stderr, /Malformed config line/);
  });
});

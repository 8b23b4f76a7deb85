/**
 * The audit logger against a real rsyslogd, started here with a throwaway config: a unix
 * socket input (local sink through `logger`), a plain TCP input, a TLS input (gtls,
 * anonymous clients) and a TLS input that requires a client certificate, all written to
 * one file with facility and severity in text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuditLogger, type AuditLogger, type AuditLoggerOptions } from './audit-logger.js';
import { LocalSyslogSink } from './local-syslog.js';
import { syslogPriority } from './levels.js';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const INDEX_JS = fileURLToPath(new URL('./index.js', import.meta.url));

interface Certs {
  dir: string;
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server cert for localhost/127.0.0.1, a client cert, and an unrelated CA (EC keys: fast). */
function makeCerts(dir: string): Certs {
  const cnf = join(dir, 'openssl.cnf');
  writeFileSync(cnf, [
    '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = unused',
    '[v3_ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash',
    '[server]', 'basicConstraints = CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = serverAuth',
    'subjectAltName = DNS:localhost,IP:127.0.0.1',
    '[client]', 'basicConstraints = CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = clientAuth',
    '',
  ].join('\n'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const p = (name: string) => join(dir, name);
  for (const ca of ['ca', 'other-ca']) {
    ssl('req', '-x509', '-config', cnf, '-extensions', 'v3_ca', ...ec, '-keyout', p(`${ca}.key`), '-out', p(`${ca}.pem`), '-days', '2', '-subj', `/CN=${ca} for syslog tests`);
  }
  let serial = 10;
  for (const [name, cn, ext] of [['server', 'localhost', 'server'], ['client', 'ctrl-exec-agent', 'client']] as const) {
    ssl('req', '-new', '-config', cnf, ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-set_serial', String(serial++),
      '-days', '2', '-extfile', cnf, '-extensions', ext, '-out', p(`${name}.pem`));
  }
  return {
    dir, ca: p('ca.pem'), otherCa: p('other-ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'),
    clientCert: p('client.pem'), clientKey: p('client.key'),
  };
}

async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
      servers.push(s);
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

/** Poll `check` until it returns a value or the deadline passes. */
async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Rsyslog {
  dir: string;
  socket: string;
  out: string;
  tcpPort: number;
  tlsPort: number;
  tlsClientCertPort: number;
  stderr: () => string;
  lines: () => string[];
  /** The one line containing `marker`, waited for. */
  line: (marker: string) => Promise<string>;
  stop: () => Promise<void>;
}

/** Start rsyslogd in the foreground with its own config, socket, ports and work directory. */
async function startRsyslog(dir: string, certs: Certs | undefined, fixed: { tcpPort?: number; socket?: string } = {}): Promise<Rsyslog> {
  const fixedTcpPort = fixed.tcpPort;
  for (let attempt = 0; ; attempt++) {
    const [tcpPort, tlsPort, tlsClientCertPort] = fixedTcpPort !== undefined ? [fixedTcpPort, ...(await freePorts(2))] : await freePorts(3);
    const work = join(dir, `work-${attempt}`);
    mkdirSync(work);
    const socket = fixed.socket ?? join(dir, `log-${attempt}.sock`);
    const out = join(dir, `out-${attempt}.log`);
    const conf = join(dir, `rsyslog-${attempt}.conf`);
    const tlsGlobals = certs
      ? ` DefaultNetstreamDriverCAFile="${certs.ca}" DefaultNetstreamDriverCertFile="${certs.serverCert}" DefaultNetstreamDriverKeyFile="${certs.serverKey}"`
      : '';
    writeFileSync(conf, [
      `global(workDirectory="${work}" net.enableDNS="off"${tlsGlobals})`,
      'module(load="imuxsock" SysSock.Use="off")',
      `input(type="imuxsock" Socket="${socket}" RateLimit.Interval="0")`,
      'module(load="imtcp")',
      `input(type="imtcp" address="127.0.0.1" port="${tcpPort}")`,
      ...(certs
        ? [
            `input(type="imtcp" address="127.0.0.1" port="${tlsPort}" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")`,
            `input(type="imtcp" address="127.0.0.1" port="${tlsClientCertPort}" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")`,
          ]
        : []),
      'template(name="audit" type="string" string="%syslogfacility-text%.%syslogseverity-text% %programname%[%procid%]:%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\\n")',
      `if $syslogfacility-text == "daemon" then action(type="omfile" file="${out}" template="audit")`,
      '',
    ].join('\n'));
    let stderr = '';
    const child: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, `rsyslogd-${attempt}.pid`)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    };
    const ports = (certs ? [tcpPort, tlsPort, tlsClientCertPort] : [tcpPort]).map((p) => p!);
    const deadline = Date.now() + 10_000;
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if (existsSync(socket) && (await Promise.all(ports.map(canConnect))).every(Boolean)) {
        ready = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (!ready) {
      await stop();
      // a port taken between choosing and binding: try again with others
      if (attempt < 2 && fixedTcpPort === undefined) continue;
      throw new Error(`rsyslogd did not become ready:\n${stderr}`);
    }
    const lines = (): string[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l !== '') : []);
    return {
      dir, socket, out, tcpPort: tcpPort!, tlsPort: tlsPort!, tlsClientCertPort: tlsClientCertPort!,
      stderr: () => stderr,
      lines,
      line: (marker) => until(`a line with ${marker} in ${out}\n${stderr}`, () => lines().find((l) => l.includes(marker))),
      stop,
    };
  }
}

let counter = 0;
function reqid(): string {
  return `${process.pid.toString(16).padStart(8, '0')}${(++counter).toString(16).padStart(8, '0')}`;
}

function newLogger(t: { after: (fn: () => Promise<void>) => void }, options: AuditLoggerOptions): { audit: AuditLogger; notices: string[] } {
  const notices: string[] = [];
  const audit = createAuditLogger({ diagnostic: (m) => notices.push(m), ...options });
  t.after(() => audit.close());
  return { audit, notices };
}

/** Log one line at each level and check each arrives exactly as upstream's would. */
async function threeLevels(rs: Rsyslog, audit: AuditLogger, ident: string): Promise<void> {
  const [a, b, c] = [reqid(), reqid(), reqid()];
  audit.log({ action: 'run', script: 'backup', exit: 0, peer: '10.0.0.1', dispatcher: 'dispatcher01', reqid: a });
  audit.log({ action: 'deny', script: 'rm all', peer: '10.0.0.1', reqid: b }); // catalogue default: warning
  audit.log({ action: 'run', level: 'err', script: 'backup', target: 'web-01:7443', error: 'connect failed', rtt: '3ms', reqid: c });
  await audit.flush();
  const pid = process.pid;
  assert.equal(await rs.line(a), `daemon.info ${ident}[${pid}]: ACTION=run DISPATCHER=dispatcher01 EXIT=0 PEER=10.0.0.1 REQID=${a} SCRIPT=backup`);
  assert.equal(await rs.line(b), `daemon.warning ${ident}[${pid}]: ACTION=deny PEER=10.0.0.1 REQID=${b} SCRIPT="rm all"`);
  assert.equal(await rs.line(c), `daemon.err ${ident}[${pid}]: ACTION=run ERROR="connect failed" REQID=${c} RTT=3ms SCRIPT=backup TARGET=web-01:7443`);
}

test('audit logging against a real rsyslogd', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ce-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certs = makeCerts(dir);
  const rs = await startRsyslog(dir, certs);
  t.after(() => rs.stop());

  await t.test('local sink (logger child on the unix socket): info, warning, err', async (t) => {
    const { audit, notices } = newLogger(t, { ident: 'ctrl-exec-agent', syslog: { kind: 'local', socket: rs.socket } });
    await threeLevels(rs, audit, 'ctrl-exec-agent');
    // a newline inside a value neither splits the message nor forges a second one
    const id = reqid();
    audit.log({ action: 'run', reqid: id, error: 'line one\nACTION=forged' });
    await audit.flush();
    assert.equal(await rs.line(id), `daemon.info ctrl-exec-agent[${process.pid}]: ACTION=run ERROR="line one#012ACTION=forged" REQID=${id}`);
    assert.equal(rs.lines().filter((l) => l.includes('ACTION=forged')).length, 1);
    assert.deepEqual(notices, []);
  });

  await t.test('TCP collector (RFC 5424, octet counting): info, warning, err', async (t) => {
    const { audit, notices } = newLogger(t, { ident: 'ctrl-exec-dispatcher', syslog: { kind: 'tcp', host: '127.0.0.1', port: rs.tcpPort } });
    await threeLevels(rs, audit, 'ctrl-exec-dispatcher');
    const id = reqid();
    audit.log({ action: 'run', reqid: id, error: 'line one\nACTION=forged2' });
    await audit.flush();
    assert.equal(await rs.line(id), `daemon.info ctrl-exec-dispatcher[${process.pid}]: ACTION=run ERROR="line one#012ACTION=forged2" REQID=${id}`);
    assert.deepEqual(notices, []);
  });

  await t.test('TLS collector verified against the CA: info, warning, err', async (t) => {
    const { audit, notices } = newLogger(t, {
      ident: 'ctrl-exec-api', syslog: { kind: 'tls', host: '127.0.0.1', port: rs.tlsPort, ca: certs.ca },
    });
    await threeLevels(rs, audit, 'ctrl-exec-api');
    assert.deepEqual(notices, []);
  });

  await t.test('TLS collector that requires a client certificate, checked by name', async (t) => {
    const { audit, notices } = newLogger(t, {
      ident: 'ctrl-exec-agent',
      syslog: {
        kind: 'tls', host: '127.0.0.1', port: rs.tlsClientCertPort, ca: certs.ca, cert: certs.clientCert, key: certs.clientKey,
        servername: 'localhost',
      },
    });
    const id = reqid();
    audit.log({ action: 'ping', dispatcher: 'dispatcher01', peer: '127.0.0.1', reqid: id });
    await audit.flush();
    assert.equal(await rs.line(id), `daemon.info ctrl-exec-agent[${process.pid}]: ACTION=ping DISPATCHER=dispatcher01 PEER=127.0.0.1 REQID=${id}`);
    assert.deepEqual(notices, []);
  });

  await t.test('TLS collector not signed by our CA, or wrong name: nothing sent, caller unaffected', async (t) => {
    const wrongCa = newLogger(t, { ident: 'ctrl-exec-api', syslog: { kind: 'tls', host: '127.0.0.1', port: rs.tlsPort, ca: certs.otherCa } });
    const wrongName = newLogger(t, {
      ident: 'ctrl-exec-api', syslog: { kind: 'tls', host: '127.0.0.1', port: rs.tlsPort, ca: certs.ca, servername: 'not-the-collector.example' },
    });
    const [a, b] = [reqid(), reqid()];
    assert.doesNotThrow(() => wrongCa.audit.log({ action: 'ping', reqid: a }));
    assert.doesNotThrow(() => wrongName.audit.log({ action: 'ping', reqid: b }));
    await Promise.all([wrongCa.audit.flush(), wrongName.audit.flush()]);
    await until('unreachable notices', () => wrongCa.notices.length > 0 && wrongName.notices.length > 0);
    assert.match(wrongCa.notices[0]!, /unreachable \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    assert.match(wrongName.notices[0]!, /ERR_TLS_CERT_ALTNAME_INVALID/);
    // a marker through a good connection arrives; the refused lines never do
    const marker = reqid();
    const good = newLogger(t, { ident: 'ctrl-exec-api', syslog: { kind: 'tls', host: '127.0.0.1', port: rs.tlsPort, ca: certs.ca } });
    good.audit.log({ action: 'ping', reqid: marker });
    await good.audit.flush();
    await rs.line(marker);
    assert.equal(rs.lines().some((l) => l.includes(a) || l.includes(b)), false);
    assert.deepEqual(wrongCa.audit.stats(), { dropped: 0, queued: 1 });
    await wrongCa.audit.close();
    assert.match(wrongCa.notices.at(-1)!, /closing with 1 audit line\(s\) not delivered/);
  });

  await t.test('tokens and registered secrets appear in no output: rsyslog file (local and TCP) and JSON file', async (t) => {
    const token = 'tok-9f8e7d6c5b4a3210';
    const jsonPath = join(dir, 'audit.json');
    const local = newLogger(t, { ident: 'ctrl-exec-agent', syslog: { kind: 'local', socket: rs.socket }, json: { path: jsonPath } });
    const tcp = newLogger(t, { ident: 'ctrl-exec-api', syslog: { kind: 'tcp', host: '127.0.0.1', port: rs.tcpPort } });
    const ids = [reqid(), reqid()];
    for (const [i, { audit }] of [local, tcp].entries()) {
      audit.addSecret(token);
      audit.log({
        action: 'auth', level: 'warning', authaction: 'run', result: 'deny', user: 'alice', ip: '127.0.0.1', reqid: ids[i],
        token, password: token, reason: `hook said: token ${token} is not valid`,
        details: { authorization: `Bearer ${token}`, note: `echo ${token}` }, hosts: [token, 'web-01'],
      });
      await audit.flush();
    }
    const pid = process.pid;
    assert.equal(
      await rs.line(ids[0]!),
      `daemon.warning ctrl-exec-agent[${pid}]: ACTION=auth AUTHACTION=run DETAILS="{"note":"echo [redacted]"}" HOSTS=[redacted],web-01 IP=127.0.0.1 REASON="hook said: token [redacted] is not valid" REQID=${ids[0]} RESULT=deny USER=alice`,
    );
    assert.match(await rs.line(ids[1]!), /^daemon\.warning ctrl-exec-api\[\d+\]: ACTION=auth .*REASON="hook said: token \[redacted\] is not valid"/);
    const json = readFileSync(jsonPath, 'utf8');
    assert.equal(readFileSync(rs.out, 'utf8').includes(token), false);
    assert.equal(json.includes(token), false);
    assert.equal(statSync(jsonPath).mode & 0o777, 0o640);
    const record = JSON.parse(json.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(record.action, 'auth');
    assert.equal(record.level, 'warning');
    assert.equal(record.ident, 'ctrl-exec-agent');
    assert.equal(record.reqid, ids[0]);
    assert.equal(record.reason, 'hook said: token [redacted] is not valid');
    assert.deepEqual(record.details, { note: 'echo [redacted]' });
    assert.equal('token' in record || 'password' in record, false);
    assert.equal(typeof record.time, 'string');
  });

  await t.test('a short-lived process: flush then exit, never kept alive by the logger', async () => {
    const id = reqid();
    const script = join(dir, 'short-lived.mjs');
    writeFileSync(script, [
      `import { createAuditLogger } from ${JSON.stringify(INDEX_JS)};`,
      `const audit = createAuditLogger({ ident: 'ctrl-exec-dispatcher', syslog: { kind: 'local', socket: ${JSON.stringify(rs.socket)} } });`,
      `audit.log({ action: 'dispatch', hosts: ['a', 'b'], mode: 'sync', reqid: ${JSON.stringify(id)}, script: 'backup' });`,
      'await audit.flush();',
      "console.log('done');",
      '',
    ].join('\n'));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, out);
    assert.equal(out, 'done\n');
    assert.equal(await rs.line(id), `daemon.info ctrl-exec-dispatcher[${child.pid}]: ACTION=dispatch HOSTS=a,b MODE=sync REQID=${id} SCRIPT=backup`);
  });

  await t.test('collector down: bounded queue drops the oldest, reconnects and delivers the rest', async (t) => {
    const [port] = await freePorts(1);
    const { audit, notices } = newLogger(t, { ident: 'ctrl-exec-agent', syslog: { kind: 'tcp', host: '127.0.0.1', port: port! }, maxQueue: 10 });
    const base = reqid();
    for (let i = 0; i < 15; i++) audit.log({ action: 'run', reqid: base, seq: i });
    await audit.flush(); // resolves although nothing can be sent
    assert.deepEqual(audit.stats(), { dropped: 5, queued: 10 });
    await until('an unreachable notice', () => notices.find((n) => /unreachable \(ECONNREFUSED\)/.test(n)));
    const secondDir = join(dir, 'second');
    mkdirSync(secondDir);
    const second = await startRsyslog(secondDir, undefined, { tcpPort: port! });
    t.after(() => second.stop());
    const delivered = await until('ten queued lines', () => {
      const got = second.lines().filter((l) => l.includes(base));
      return got.length >= 10 ? got : undefined;
    }, 40_000);
    assert.deepEqual(delivered.map((l) => Number(/SEQ=(\d+)/.exec(l)![1])), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    await until('a reconnect notice', () => notices.find((n) => /reachable again; 5 audit line\(s\) were dropped/.test(n)));
    assert.deepEqual(audit.stats(), { dropped: 5, queued: 0 });
  });
});

test('local sink survives the syslog daemon going away and coming back', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ce-audit-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'dev-log.sock');
  const first = await startRsyslog(join(dir), undefined, { socket });
  t.after(() => first.stop());
  const notices: string[] = [];
  let stderr = '';
  const sink = new LocalSyslogSink({
    ident: 'ctrl-exec-agent', socket, retryMs: 50, diagnostic: (m) => notices.push(m), stderr: (text) => (stderr += text),
  });
  t.after(() => sink.close(1000));
  const [a, c, d] = [reqid(), reqid(), reqid()];
  sink.write(syslogPriority('info'), `ACTION=start REQID=${a}`);
  await sink.flush(5000);
  assert.equal(await first.line(a), `daemon.info ctrl-exec-agent[${process.pid}]: ACTION=start REQID=${a}`);

  await first.stop();
  assert.equal(existsSync(socket), false);
  // logger (started with --socket-errors=on) notices on its next send and exits; what it
  // held is gone, like a datagram to a dead daemon. From then on lines go to stderr.
  sink.write(syslogPriority('info'), 'ACTION=start REQID=lost-while-down');
  await until('the writer to exit', () => notices.some((n) => n.startsWith('syslog writer exited')));
  sink.write(syslogPriority('warning'), `ACTION=deny REQID=${c}`);
  assert.equal(stderr, `ctrl-exec-agent: ACTION=deny REQID=${c}\n`);

  const secondDir = join(dir, 'second');
  mkdirSync(secondDir);
  const second = await startRsyslog(secondDir, undefined, { socket });
  t.after(() => second.stop());
  await new Promise((resolve) => setTimeout(resolve, 60)); // past retryMs
  sink.write(syslogPriority('err'), `ACTION=rotate-fail REQID=${d}`);
  await sink.flush(5000);
  assert.equal(await second.line(d), `daemon.err ctrl-exec-agent[${process.pid}]: ACTION=rotate-fail REQID=${d}`);
  assert.ok(notices.some((n) => n.includes('is back; audit lines go to syslog again')), notices.join('\n'));
  assert.equal(notices.filter((n) => n.startsWith('syslog writer exited')).length, 1, notices.join('\n'));
});

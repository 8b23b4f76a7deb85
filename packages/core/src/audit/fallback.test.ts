/**
 * What the audit logger does without a syslog daemon, and its other outputs (stderr, JSON
 * on stdout or in a file), seen from outside: each case runs in its own node process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuditLogger } from './audit-logger.js';

const INDEX_JS = fileURLToPath(new URL('./index.js', import.meta.url));

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-audit-fb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Run `body` (ESM, with createAuditLogger in scope) in a fresh node process. */
async function runScript(dir: string, body: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = join(dir, `script-${Math.random().toString(16).slice(2)}.mjs`);
  writeFileSync(script, `import { createAuditLogger } from ${JSON.stringify(INDEX_JS)};\n${body}\n`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

test('socket missing: lines go to stderr as `<ident>: <message>`, and we say so once', async (t) => {
  const dir = tempDir(t);
  const socket = join(dir, 'no-such.sock');
  const r = await runScript(dir, `
    const audit = createAuditLogger({ ident: 'ctrl-exec-agent', syslog: { kind: 'local', socket: ${JSON.stringify(socket)} } });
    audit.log({ action: 'start', port: 7443 });
    audit.log({ action: 'deny', script: 'x', peer: '127.0.0.1', reqid: '0123456789abcdef' });
    audit.log({ action: 'run', error: 'two\\nlines' });
    await audit.close();
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    [
      `ctrl-exec-agent: syslog socket ${socket} not found; audit lines go to stderr`,
      'ctrl-exec-agent: ACTION=start PORT=7443',
      'ctrl-exec-agent: ACTION=deny PEER=127.0.0.1 REQID=0123456789abcdef SCRIPT=x',
      'ctrl-exec-agent: ACTION=run ERROR="two#012lines"',
      '',
    ].join('\n'),
  );
});

test('socket path that is not a socket, or no logger binary: stderr too', async (t) => {
  const dir = tempDir(t);
  const notSocket = join(dir, 'plain-file');
  writeFileSync(notSocket, '');
  const r1 = await runScript(dir, `
    const audit = createAuditLogger({ ident: 'ctrl-exec-api', syslog: { kind: 'local', socket: ${JSON.stringify(notSocket)} } });
    audit.log({ action: 'api-start', bind: '127.0.0.1', port: 7445, tls: 'no' });
  `);
  assert.equal(r1.code, 0);
  assert.equal(r1.stderr, `ctrl-exec-api: syslog socket ${notSocket} is not a socket; audit lines go to stderr\nctrl-exec-api: ACTION=api-start BIND=127.0.0.1 PORT=7445 TLS=no\n`);

  // a real socket, but the logger command cannot be run
  const socket = join(dir, 'stream.sock');
  const server = createServer((c) => c.destroy());
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.after(() => server.close());
  const r2 = await runScript(dir, `
    const audit = createAuditLogger({ ident: 'ctrl-exec-agent', syslog: { kind: 'local', socket: ${JSON.stringify(socket)}, command: ${JSON.stringify(join(dir, 'no-logger'))} } });
    audit.log({ action: 'start', port: 1 });
    await new Promise((r) => setTimeout(r, 20));
    audit.log({ action: 'start', port: 2 });
  `);
  assert.equal(r2.code, 0);
  const lines = r2.stderr.trim().split('\n');
  assert.deepEqual(lines.filter((l) => l.startsWith('ctrl-exec-agent: ACTION=')), ['ctrl-exec-agent: ACTION=start PORT=1', 'ctrl-exec-agent: ACTION=start PORT=2']);
  assert.deepEqual(lines.filter((l) => !l.startsWith('ctrl-exec-agent: ACTION=')), [`ctrl-exec-agent: cannot run ${join(dir, 'no-logger')} (ENOENT); audit lines go to stderr`]);
});

test('stderr and none targets; JSON on stdout with syslog level names', async (t) => {
  const dir = tempDir(t);
  const r = await runScript(dir, `
    const a = createAuditLogger({ ident: 'ctrl-exec-dispatcher', syslog: { kind: 'stderr' } });
    a.addSecret('hunter2hunter2');
    a.log({ action: 'ping', target: 'web-01:7443', result: 'ok', rtt: '4ms', reqid: 'r1', token: 'hunter2hunter2' });
    const b = createAuditLogger({ ident: 'ctrl-exec-api', syslog: { kind: 'none' }, json: 'stdout' });
    b.addSecret('hunter2hunter2');
    b.log({ action: 'api-request', method: 'POST', path: '/run', peer: '127.0.0.1', len: 42, note: 'x hunter2hunter2' });
    b.log({ action: 'deny', reqid: 'r2' });
    b.log({ action: 'run', level: 'err', error: 'boom' });
    await Promise.all([a.flush(), b.flush()]);
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, 'ctrl-exec-dispatcher: ACTION=ping REQID=r1 RESULT=ok RTT=4ms TARGET=web-01:7443\n');
  const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(records.length, 3);
  for (const rec of records) {
    assert.equal(rec.ident, 'ctrl-exec-api');
    assert.match(String(rec.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  assert.deepEqual(
    records.map((x) => [x.level, x.action]),
    [['info', 'api-request'], ['warning', 'deny'], ['err', 'run']],
  );
  assert.equal(records[0]!.note, 'x [redacted]');
  assert.equal(records[0]!.len, 42);
  assert.equal(r.stdout.includes('hunter2hunter2'), false);
});

test('JSON file: created 0640 whatever the umask, appended to, never truncated', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'audit.json');
  const body = `
    process.umask(0o077);
    const audit = createAuditLogger({ ident: 'ctrl-exec-agent', syslog: { kind: 'none' }, json: { path: ${JSON.stringify(path)} } });
    audit.log({ action: 'start', port: 7443 });
    await audit.close();
  `;
  const r1 = await runScript(dir, body);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(statSync(path).mode & 0o777, 0o640);
  chmodSync(path, 0o600); // an operator's choice on an existing file is kept
  const r2 = await runScript(dir, body);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  for (const l of lines) assert.equal((JSON.parse(l) as { action: string }).action, 'start');
});

test('bad options are refused at creation with stable codes', (t) => {
  const dir = tempDir(t);
  const none = { kind: 'none' } as const;
  for (const ident of ['', 'has space', '-t', 'x'.repeat(49), 'tab\t']) {
    assert.throws(() => createAuditLogger({ ident, syslog: none }), { code: 'CE_ERR_CONFIG_VALUE' }, JSON.stringify(ident));
  }
  const missing = join(dir, 'missing.pem');
  assert.throws(() => createAuditLogger({ ident: 'ctrl-exec-api', syslog: { kind: 'tls', host: '127.0.0.1', port: 6514, ca: missing } }), {
    code: 'CE_ERR_CONFIG_VALUE',
  });
  const junk = join(dir, 'junk.pem');
  writeFileSync(junk, 'not a certificate');
  assert.throws(
    () => createAuditLogger({ ident: 'ctrl-exec-api', syslog: { kind: 'tls', host: '127.0.0.1', port: 6514, ca: junk, cert: junk, key: junk } }),
    { code: 'CE_ERR_CONFIG_VALUE' },
  );
  assert.throws(
    () => createAuditLogger({ ident: 'ctrl-exec-api', syslog: { kind: 'tls', host: '127.0.0.1', port: 6514, ca: junk, cert: junk } }),
    { code: 'CE_ERR_CONFIG_VALUE' },
  );
  for (const port of [0, 65536, 1.5, NaN]) {
    assert.throws(() => createAuditLogger({ ident: 'ctrl-exec-api', syslog: { kind: 'tcp', host: '127.0.0.1', port } }), { code: 'CE_ERR_CONFIG_VALUE' });
  }
  assert.throws(() => createAuditLogger({ ident: 'ctrl-exec-api', syslog: { kind: 'udp' } as never }), { code: 'CE_ERR_CONFIG_VALUE' });
  const noDir = join(dir, 'no', 'such', 'dir', 'audit.json');
  assert.throws(() => createAuditLogger({ ident: 'ctrl-exec-api', syslog: none, json: { path: noDir } }), { code: 'CE_ERR_FS' });
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  assert.throws(() => createAuditLogger({ ident: 'ctrl-exec-api', syslog: none, json: { path: sub } }), { code: 'CE_ERR_FS' });
});

test('log() never throws, whatever it is given', async (t) => {
  const notices: string[] = [];
  const audit = createAuditLogger({ ident: 'ctrl-exec-api', syslog: { kind: 'none' }, diagnostic: (m) => notices.push(m) });
  t.after(() => audit.close());
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const hostile = {
    action: 'x',
    get boom(): string {
      throw new Error('getter exploded');
    },
  };
  for (const event of [null, undefined, 42, 'str', {}, { action: 42 }, { action: 'x', cyclic }, hostile, { action: 'x', sym: Symbol('s') }]) {
    assert.doesNotThrow(() => audit.log(event as never));
  }
  audit.addSecret(undefined as never);
  audit.addSecret('');
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /getter exploded/);
  await audit.close();
  await audit.close(); // twice is fine
});

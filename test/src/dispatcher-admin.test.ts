/**
 * Dispatcher administration modes: CA and own certificate setup, registry listing and edits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ced } from './helpers/cli.js';
import { makeDispatcher, tempDir, writeDispatcherConfig } from './helpers/env.js';
import { Registry, type AgentRecord } from '@ctrl-exec/core';

function record(name: string, extra: Partial<AgentRecord> = {}): AgentRecord {
  return {
    hostname: name, ip: '127.0.0.5', paired: '2026-01-02T03:04:05Z', expiry: 'Apr  7 03:04:05 2099 GMT', reqid: '0123456789abcdef',
    lookup_by: 'hostname', port: 7443, tags: {}, dispatcher_serial: 'abc', serial_status: 'current', serial_broadcast: '', serial_confirmed: '2026-01-02T03:04:05Z',
    ...extra,
  };
}

test('setup-ca creates a 0600 key and a CA that openssl accepts, and refuses to overwrite', async (t) => {
  const d = writeDispatcherConfig(tempDir(t));
  const r = await ced(['setup-ca'], { env: d.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^CA created:/);
  assert.match(r.stdout, /Keep ca\.key secure - it never leaves this host\./);
  assert.equal(statSync(join(d.caDir, 'ca.key')).mode & 0o777, 0o600);
  const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(d.caDir, 'ca.crt')]).toString();
  assert.match(text, /Subject: CN\s?=\s?ctrl-exec CA/);
  assert.match(text, /CA:TRUE/);
  const before = readFileSync(join(d.caDir, 'ca.key'));
  const again = await ced(['setup-ca'], { env: d.env });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /CA already exists at '.*ca\.key'/);
  assert.deepEqual(readFileSync(join(d.caDir, 'ca.key')), before);
});

test('setup-ctrl-exec needs the CA, issues CN=ctrl-exec-dispatcher, and asks before replacing when agents exist', async (t) => {
  const d = writeDispatcherConfig(tempDir(t));
  const noCa = await ced(['setup-ctrl-exec'], { env: d.env });
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /CA key not found at '.*ca\.key' - run setup-ca first/);

  assert.equal((await ced(['setup-ca'], { env: d.env })).code, 0);
  const first = await ced(['setup-ctrl-exec'], { env: d.env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /dispatcher cert created:/);
  assert.equal(statSync(join(d.caDir, 'dispatcher.key')).mode & 0o777, 0o600);
  const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-in', join(d.caDir, 'dispatcher.crt')]).toString();
  assert.match(subject, /CN\s?=\s?ctrl-exec-dispatcher/);
  execFileSync('openssl', ['verify', '-CAfile', join(d.caDir, 'ca.crt'), join(d.caDir, 'dispatcher.crt')]);

  const replaced = await ced(['setup-ctrl-exec'], { env: d.env });
  assert.match(replaced.stdout, /Existing dispatcher cert found\. No registered agents - replacing\./);

  new Registry(join(d.stateDir, 'agents')).put(record('web-01'));
  const certBefore = readFileSync(join(d.caDir, 'dispatcher.crt'), 'utf8');
  const declined = await ced(['setup-ctrl-exec'], { env: d.env, input: 'n\n' });
  assert.equal(declined.code, 0);
  assert.match(declined.stdout, /1 agent\(s\) are registered[\s\S]*Proceed\? \[y\/N\]: Aborted\./);
  assert.equal(readFileSync(join(d.caDir, 'dispatcher.crt'), 'utf8'), certBefore);
  const accepted = await ced(['setup-ctrl-exec'], { env: d.env, input: 'y\n' });
  assert.equal(accepted.code, 0);
  assert.notEqual(readFileSync(join(d.caDir, 'dispatcher.crt'), 'utf8'), certBefore);
});

test('list-agents, --tags filter, edit-agent and unpair', async (t) => {
  const d = writeDispatcherConfig(tempDir(t));
  const reg = new Registry(join(d.stateDir, 'agents'));

  assert.equal((await ced(['list-agents'], { env: d.env })).stdout.trim(), 'No registered agents.');
  reg.put(record('web-01', { tags: { env: 'prod', role: 'web' } }));
  reg.put(record('db-01', { tags: { env: 'prod', role: 'db' } }));

  const all = await ced(['list-agents'], { env: d.env });
  const lines = all.stdout.trimEnd().split('\n');
  assert.equal(lines[1], '-'.repeat(112));
  assert.deepEqual(lines.slice(2).map((l) => l.split(/\s+/)[0]), ['db-01', 'web-01']);

  const web = await ced(['list-agents', '--tags', 'env=prod,role=web', '--json'], { env: d.env });
  assert.deepEqual((JSON.parse(web.stdout) as AgentRecord[]).map((a) => a.hostname), ['web-01']);
  assert.equal((await ced(['list-agents', '--tags', 'env=dev'], { env: d.env })).stdout.trim(), 'No agents match the tag filter.');
  const badTags = await ced(['list-agents', '--tags', 'env'], { env: d.env });
  assert.equal(badTags.code, 2);
  assert.match(badTags.stderr, /Invalid --tags filter: invalid tag filter 'env' \(expected key=value\)/);

  const nothing = await ced(['edit-agent', 'web-01'], { env: d.env });
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /Nothing to change\. Pass at least one of --rename, --ip, --agent-port, --lookup-by\./);
  const collide = await ced(['edit-agent', 'web-01', '--rename', 'db-01'], { env: d.env });
  assert.equal(collide.code, 1);
  assert.match(collide.stderr, /Edit failed: agent 'db-01' already exists/);
  const badName = await ced(['edit-agent', 'web-01', '--rename', '../evil'], { env: d.env });
  assert.match(badName.stderr, /invalid agent name '\.\.\/evil' \(use letters, digits, '\.', '-', '_'\)/);
  const edit = await ced(['edit-agent', 'web-01', '--rename', 'web-02', '--ip', '127.0.0.9', '--agent-port', '7450', '--lookup-by', 'ip'], { env: d.env });
  assert.equal(edit.code, 0, edit.stderr);
  assert.equal(edit.stdout.trim(), "Updated agent 'web-02'.");
  const moved = reg.get('web-02')!;
  assert.deepEqual([moved.ip, moved.port, moved.lookup_by, moved.tags.role], ['127.0.0.9', 7450, 'ip', 'web']);
  assert.equal(reg.get('web-01'), undefined);
  const ev = d.audit().find((e) => e.action === 'edit-agent')!;
  assert.deepEqual([ev.agent, ev.renamed_from, ev.ip, ev.port, ev.lookup_by], ['web-02', 'web-01', '127.0.0.9', 7450, 'ip']);

  const un = await ced(['unpair', 'web-02'], { env: d.env });
  assert.equal(un.code, 0, un.stderr);
  assert.match(un.stdout, /^Unregistered 'web-02'\.\nWARNING: Agent certificate remains valid until: Apr {2}7 03:04:05 2099 GMT/);
  assert.ok(d.audit().some((e) => e.action === 'unpair' && e.agent === 'web-02' && e.expiry === 'Apr  7 03:04:05 2099 GMT'));
  const again = await ced(['unpair', 'web-02'], { env: d.env });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /Unpair failed: No registry entry for 'web-02'/);
});

test('CLI basics: --version, no mode, unknown mode, config errors exit 78', async (t) => {
  const v = await ced(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^ctrl-exec-dispatcher \d+\.\d+\.\d+\n$/);
  const none = await ced([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: ctrl-exec/);
  const unknown = await ced(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown mode 'frobnicate'/);

  const dir = tempDir(t);
  const conf = join(dir, 'bad.conf');
  writeFileSync(conf, 'cert = /x\nkey = /y\n');
  const missing = await ced(['list-agents', '--config', conf]);
  assert.equal(missing.code, 78);
  assert.match(missing.stderr, /Missing 'ca' in /);
  const absent = await ced(['list-agents'], { env: { CTRL_EXEC_CONFIG: join(dir, 'nope.conf') } });
  assert.equal(absent.code, 78);
  const d = await makeDispatcher(t);
  const help = await ced(['approve', '--help'], { env: d.env });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--lookup-by/);
});

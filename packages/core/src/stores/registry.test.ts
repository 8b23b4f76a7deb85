import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, parseTagFilter, matchesTags, isValidAgentName, type AgentRecord } from './registry.js';

function record(name: string, extra: Partial<AgentRecord> = {}): AgentRecord {
  return {
    hostname: name, ip: '127.0.0.2', paired: '2026-01-02T03:04:05Z', expiry: 'Apr  7 03:04:05 2028 GMT', reqid: '0123456789abcdef',
    lookup_by: 'ip', port: 7443, tags: {}, dispatcher_serial: 'abc', serial_status: 'current', serial_broadcast: '', serial_confirmed: '2026-01-02T03:04:05Z',
    ...extra,
  };
}

function setup(t: { after: (fn: () => void) => void }): Registry {
  const dir = mkdtempSync(join(tmpdir(), 'ce-reg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return new Registry(join(dir, 'agents'));
}

test('put/get round trip keeps every upstream field and writes 0644 JSON', (t) => {
  const reg = setup(t);
  reg.put(record('web-01.example.com', { tags: { env: 'prod' } }));
  const got = reg.get('web-01.example.com');
  assert.deepEqual(got, record('web-01.example.com', { tags: { env: 'prod' } }));
  const path = join(reg.dir, 'web-01.example.com.json');
  assert.equal(statSync(path).mode & 0o777, 0o644);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(path, 'utf8'))).sort(), [
    'dispatcher_serial', 'expiry', 'hostname', 'ip', 'lookup_by', 'paired', 'port', 'reqid', 'serial_broadcast', 'serial_confirmed', 'serial_status', 'tags',
  ]);
});

test('names come from file names; empty or missing registry is empty', (t) => {
  const reg = setup(t);
  assert.deepEqual(reg.names(), []);
  reg.put(record('b'));
  reg.put(record('a'));
  writeFileSync(join(reg.dir, '.registry.lock'), '');
  writeFileSync(join(reg.dir, '-bad.json'), '{}');
  assert.deepEqual(reg.names(), ['a', 'b']);
  assert.deepEqual(reg.list().map((r) => r.hostname), ['a', 'b']);
});

test('odd values from disk are normalised as upstream does', (t) => {
  const reg = setup(t);
  reg.put(record('x'));
  writeFileSync(join(reg.dir, 'x.json'), JSON.stringify({ hostname: 'x', port: '99999', lookup_by: 'dns', tags: { n: 1 } }));
  const r = reg.get('x')!;
  assert.equal(r.port, 7443);
  assert.equal(r.lookup_by, 'hostname');
  assert.deepEqual(r.tags, { n: '1' });
  assert.equal(r.serial_status, 'unknown');
});

test('corrupt records are CE_ERR_FS; list reports them without failing', (t) => {
  const reg = setup(t);
  reg.put(record('good'));
  writeFileSync(join(reg.dir, 'bad.json'), '{not json');
  assert.throws(() => reg.get('bad'), { code: 'CE_ERR_FS' });
  const errors: string[] = [];
  assert.deepEqual(reg.list((n) => errors.push(n)).map((r) => r.hostname), ['good']);
  assert.deepEqual(errors, ['bad']);
});

test('traversal names are refused and never touch the file system', (t) => {
  const reg = setup(t);
  assert.equal(isValidAgentName('../../etc/passwd'), false);
  assert.equal(reg.get('../x'), undefined);
  assert.throws(() => reg.put(record('../x')), { code: 'CE_ERR_BAD_REQUEST' });
});

test('update renames without clobbering; remove returns the record', (t) => {
  const reg = setup(t);
  reg.put(record('a'));
  reg.put(record('b'));
  assert.throws(() => reg.update('a', (r) => ({ ...r, hostname: 'b' })), { code: 'CE_ERR_BAD_REQUEST' });
  reg.update('a', (r) => ({ ...r, hostname: 'c', ip: '127.0.0.9' }));
  assert.deepEqual(readdirSync(reg.dir).filter((f) => !f.startsWith('.')).sort(), ['b.json', 'c.json']);
  assert.equal(reg.get('c')!.ip, '127.0.0.9');
  assert.throws(() => reg.update('zz', (r) => r), { code: 'CE_ERR_NOT_FOUND' });
  assert.equal(reg.remove('b').hostname, 'b');
  assert.throws(() => reg.remove('b'), { code: 'CE_ERR_NOT_FOUND' });
});

test('tag filters', () => {
  assert.deepEqual(parseTagFilter('env=prod, role=web'), { env: 'prod', role: 'web' });
  assert.throws(() => parseTagFilter('env'), { code: 'CE_ERR_USAGE' });
  assert.equal(matchesTags(record('a', { tags: { env: 'prod', role: 'web' } }), { env: 'prod' }), true);
  assert.equal(matchesTags(record('a', { tags: { env: 'prod' } }), { env: 'prod', role: 'web' }), false);
});

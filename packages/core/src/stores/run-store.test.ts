import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { RunStore, isPendingState, isValidRunReqid, type AsyncRunRecord, type SyncRunRecord } from './run-store.js';
import { CtrlExecError } from '../errors.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-runs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
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

const asyncRecord: AsyncRunRecord = {
  reqid: 'a1b2c3d4e5f60718',
  script: 'backup',
  mode: 'async',
  created: 1767225600,
  hosts: { 'web-01': { status: 'accepted' }, 'web-02': { status: 'busy', error: 'script already running' } },
  pending: ['web-01'],
  complete: false,
};

const syncRecord: SyncRunRecord = {
  reqid: '00ff00ff00ff00ff',
  script: 'check',
  mode: 'sync',
  hosts: ['web-01'],
  results: [{ host: 'web-01', script: 'check', exit: 0, stdout: 'ok\n', stderr: '', reqid: '00ff00ff00ff00ff', rtt: '12ms' }],
  completed: 1767225600,
  complete: true,
  submitter: { username: 'alice', source_ip: '127.0.0.1' },
};

test('async record: written 0640 in a 0750 dir created on demand, exact upstream shape, read back', (t) => {
  const dir = join(tempDir(t), 'state', 'runs');
  const store = new RunStore(dir);
  store.put(asyncRecord);
  const file = join(dir, `${asyncRecord.reqid}.json`);
  assert.equal(statSync(dir).mode & 0o777, 0o750);
  assert.equal(statSync(file).mode & 0o777, 0o640);
  const onDisk = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(onDisk).sort(), ['complete', 'created', 'hosts', 'mode', 'pending', 'reqid', 'script']);
  assert.equal('submitter' in onDisk, false);
  assert.deepEqual(store.get(asyncRecord.reqid), asyncRecord);
  // only the record itself is left: no temp files
  assert.deepEqual(readdirSync(dir), [`${asyncRecord.reqid}.json`]);
});

test('sync record round trip, and an async rewrite replaces the whole record', async (t) => {
  const store = new RunStore(tempDir(t));
  store.put(syncRecord);
  assert.deepEqual(store.get(syncRecord.reqid), syncRecord);
  const done: AsyncRunRecord = {
    ...asyncRecord,
    hosts: { ...asyncRecord.hosts, 'web-01': { status: 'done', exit: 0, stdout: 'x', stderr: '' } },
    pending: [],
    complete: true,
  };
  store.put(asyncRecord);
  await store.putAsync(done);
  assert.deepEqual(store.get(asyncRecord.reqid), done);
});

test('get: absent, or a reqid that is not lowercase hex, is undefined (never a path outside the store)', (t) => {
  const dir = tempDir(t);
  const store = new RunStore(join(dir, 'runs'));
  mkdirSync(join(dir, 'runs'));
  writeFileSync(join(dir, 'secret.json'), JSON.stringify(syncRecord));
  for (const reqid of ['', 'ABCDEF', '../secret', 'a1b2/..', 'g00d', 'a'.repeat(200), 'abc\n']) assert.equal(store.get(reqid), undefined, reqid);
  assert.equal(store.get('deadbeef'), undefined);
  assert.equal(isValidRunReqid('deadbeef'), true);
  assert.equal(isValidRunReqid(42), false);
  assert.equal(codeOf(() => store.put({ ...syncRecord, reqid: '../x' })), 'CE_ERR_BAD_REQUEST');
});

test('get: unreadable records are CE_ERR_FS; odd values are normalised', (t) => {
  const dir = tempDir(t);
  const store = new RunStore(dir);
  writeFileSync(join(dir, 'aa.json'), '{not json');
  writeFileSync(join(dir, 'bb.json'), '[1,2]');
  writeFileSync(join(dir, 'cc.json'), JSON.stringify({ reqid: 'cc', mode: 'other' }));
  for (const id of ['aa', 'bb', 'cc']) assert.equal(codeOf(() => store.get(id)), 'CE_ERR_FS', id);
  writeFileSync(
    join(dir, 'dd.json'),
    JSON.stringify({ mode: 'async', script: 's', hosts: { h1: 'garbage', h2: { status: 'running' } }, pending: ['h2', 'ghost', 7], created: '12' }),
  );
  const rec = store.get('dd') as AsyncRunRecord;
  assert.equal(rec.reqid, 'dd');
  assert.equal(rec.created, 12);
  assert.deepEqual(rec.pending, ['h2']);
  assert.equal(rec.hosts.h1?.status, 'error');
  assert.equal(rec.complete, false);
  assert.equal('submitter' in rec, false);
});

test('purge removes records (and stale temp files) whose mtime is older than 24 h', (t) => {
  const dir = tempDir(t);
  const store = new RunStore(dir);
  const now = Date.now();
  store.put({ ...asyncRecord, reqid: 'aaaa' });
  store.put({ ...asyncRecord, reqid: 'bbbb' });
  store.put({ ...asyncRecord, reqid: 'cccc' });
  writeFileSync(join(dir, '.dddd.json.123.abcdef.tmp'), 'x');
  writeFileSync(join(dir, 'notes.txt'), 'not a record');
  const old = (now - 86_400_000 - 60_000) / 1000;
  utimesSync(join(dir, 'aaaa.json'), old, old);
  utimesSync(join(dir, '.dddd.json.123.abcdef.tmp'), old, old);
  utimesSync(join(dir, 'notes.txt'), old, old);
  const recent = (now - 86_400_000 + 60_000) / 1000;
  utimesSync(join(dir, 'bbbb.json'), recent, recent);

  assert.deepEqual(store.purge(now), ['aaaa']);
  assert.equal(store.get('aaaa'), undefined);
  assert.ok(store.get('bbbb'));
  assert.ok(store.get('cccc'));
  assert.equal(existsSync(join(dir, '.dddd.json.123.abcdef.tmp')), false);
  assert.ok(existsSync(join(dir, 'notes.txt')));
  // a custom age
  assert.deepEqual(store.purge(now + 10_000, 5_000), ['bbbb', 'cccc']);
  assert.deepEqual(new RunStore(join(dir, 'missing')).purge(), []);
});

test('pending states', () => {
  assert.equal(isPendingState('accepted'), true);
  assert.equal(isPendingState('running'), true);
  for (const s of ['done', 'expired', 'busy', 'error', undefined]) assert.equal(isPendingState(s), false);
});

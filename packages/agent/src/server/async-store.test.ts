import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isStorableReqid,
  lockName,
  otherOwners,
  purgeExpired,
  readRecord,
  recordPath,
  scriptBusy,
  tryLockScript,
  writeRecord,
} from './async-store.js';
import { parseJobSpec } from './async-job-runner.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'cea-runs-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('record paths and names', () => {
  assert.equal(recordPath('/r', 'disp', 'abc'), '/r/disp/abc.json');
  assert.equal(recordPath('/r', '', 'abc'), '/r/abc.json');
  assert.equal(lockName('deploy-cert'), 'deploy-cert.lock');
  assert.equal(lockName('a/b c'), 'a_b_c.lock');
  for (const ok of ['a', 'A-b_9', 'x'.repeat(128)]) assert.equal(isStorableReqid(ok), true, ok);
  for (const bad of ['', '.', '..', 'a/b', 'a.b', 'x'.repeat(129), 'a\n']) assert.equal(isStorableReqid(bad), false, bad);
});

test('records: written 0640 in the owner directory, read back, other owners found', (t) => {
  const runs = dir(t);
  const p = recordPath(runs, 'd1', 'r1');
  writeRecord(p, { reqid: 'r1', status: 'running', script: 's', owner: 'd1', started: '2026-01-01T00:00:00Z' });
  assert.equal(statSync(p).mode & 0o777, 0o640);
  assert.deepEqual(readRecord(p), { reqid: 'r1', status: 'running', script: 's', owner: 'd1', started: '2026-01-01T00:00:00Z' });
  assert.deepEqual(otherOwners(runs, 'd2', 'r1'), ['d1']);
  assert.deepEqual(otherOwners(runs, 'd1', 'r1'), []);
  assert.equal(readRecord(join(runs, 'nope.json')), undefined);
  writeFileSync(join(runs, 'junk.json'), '[1');
  assert.equal(readRecord(join(runs, 'junk.json')), undefined);
});

test('purge removes records older than 24 h, nothing else', (t) => {
  const runs = dir(t);
  mkdirSync(join(runs, 'd1'));
  mkdirSync(join(runs, '.locks'));
  const files = ['d1/old.json', 'd1/new.json', 'flat-old.json', '.locks/x.lock', 'd1/old.txt'];
  for (const f of files) writeFileSync(join(runs, f), '{}');
  const past = (Date.now() - 25 * 3600_000) / 1000;
  for (const f of ['d1/old.json', 'flat-old.json', '.locks/x.lock', 'd1/old.txt']) utimesSync(join(runs, f), past, past);
  assert.equal(purgeExpired(runs), 2);
  assert.deepEqual(files.map((f) => existsSync(join(runs, f))), [false, true, false, true, true]);
  assert.equal(purgeExpired(join(runs, 'missing')), 0);
});

test('the script lock is exclusive until its descriptor closes', (t) => {
  const runs = dir(t);
  const fd = tryLockScript(runs, 'deploy');
  assert.equal(typeof fd, 'number');
  assert.equal(tryLockScript(runs, 'deploy'), undefined);
  assert.equal(scriptBusy(runs, 'deploy'), true);
  const other = tryLockScript(runs, 'other');
  assert.equal(typeof other, 'number');
  closeSync(fd!);
  closeSync(other!);
  assert.equal(scriptBusy(runs, 'deploy'), false);
  assert.equal(scriptBusy(runs, 'never-locked'), false);
  const again = tryLockScript(runs, 'deploy');
  assert.equal(typeof again, 'number');
  closeSync(again!);
});

test('job descriptions are checked', () => {
  const good = {
    v: 1, configFile: '/c', recordPath: '/r', reqid: 'r', script: 's', owner: 'o', started: 't', path: '/p',
    args: ['a'], stdin: '{}', stdinTimeoutMs: 10, maxOutputBytes: 5, peer: '1.2.3.4', secrets: [],
  };
  assert.deepEqual(parseJobSpec(JSON.stringify(good)), good);
  for (const bad of [{ ...good, v: 2 }, { ...good, args: [1] }, { ...good, path: 3 }, { ...good, timeoutMs: 'x' }, null]) {
    assert.equal(parseJobSpec(JSON.stringify(bad)), undefined);
  }
  assert.equal(parseJobSpec('{'), undefined);
});

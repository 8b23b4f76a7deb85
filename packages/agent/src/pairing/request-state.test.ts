import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRequestState, processAlive, readRequestState, writeRequestState } from './request-state.js';

test('state file round trip, atomic and 0644', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cea-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sub', 'pairing-request.json');
  const pending = { reqid: 'abcdef0123456789', pid: process.pid, dispatcher: 'd.example', port: 7444, started: '2025-01-01T00:00:00Z', timeout: 30 };
  await writeRequestState(path, pending);
  assert.equal(statSync(path).mode & 0o777, 0o644);
  assert.deepEqual(readRequestState(path), pending);
  assert.equal(describeRequestState(pending), `Pairing request abcdef0123456789 pending with d.example (pid ${process.pid}).`);
  assert.match(describeRequestState(pending, () => false), /abandoned/);
  const finished = { reqid: 'abcdef0123456789', outcome: 'denied' as const, exit: 3, reason: 'rejected by operator', finished: '2025-01-01T00:00:05Z', dispatcher: 'd.example' };
  await writeRequestState(path, finished);
  assert.deepEqual(readRequestState(path), finished);
  assert.equal(describeRequestState(finished), 'Last pairing request abcdef0123456789 with d.example: denied (rejected by operator) at 2025-01-01T00:00:05Z.');
});

test('unreadable or malformed state is ignored', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cea-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'p.json');
  assert.equal(readRequestState(path), undefined);
  for (const text of ['', 'null', '[]', '{"reqid":1}', '{"reqid":"a","outcome":"exploded","exit":1,"finished":"x"}', '{"reqid":"a","pid":"1"}', '{']) {
    writeFileSync(path, text);
    assert.equal(readRequestState(path), undefined, text);
  }
  writeFileSync(path, JSON.stringify({ reqid: 'a\u001b[31m', outcome: 'failed', exit: 3, finished: 'now' }));
  assert.equal(describeRequestState(readRequestState(path)!), 'Last pairing request a\\x1b[31m: failed at now.');
});

test('processAlive', () => {
  assert.equal(processAlive(process.pid), true);
  assert.equal(processAlive(0), false);
  assert.equal(processAlive(-1), false);
  assert.equal(processAlive(2 ** 22 + 12345), false);
});

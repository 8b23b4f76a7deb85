import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PairingQueue, type PairingRequest } from './pairing-queue.js';

function req(id: string, received = '2026-01-01T00:00:00Z'): PairingRequest {
  return { id, hostname: `h-${id.slice(0, 4)}`, ip: '127.0.0.1', source_ip: '127.0.0.1', csr: 'CSR', nonce: 'n'.repeat(32), lookup_by: null, port: 7443, received, code: '123456', reverse_dns: '', reverse_confirmed: 0 };
}

function setup(t: { after: (fn: () => void) => void }): PairingQueue {
  const dir = mkdtempSync(join(tmpdir(), 'ce-pq-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return new PairingQueue(join(dir, 'pairing'));
}

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

test('add, pending (oldest first), verdicts and removal', (t) => {
  const q = setup(t);
  assert.deepEqual(q.pending(), []);
  q.add(req(B, '2026-01-01T00:00:02Z'));
  q.add(req(A, '2026-01-01T00:00:01Z'));
  assert.deepEqual(q.pending().map((r) => r.id), [A, B]);
  q.setVerdict(A, { status: 'approved', cert: 'C', ca: 'CA', nonce: 'n', dispatcher_serial: 'ff', dispatcher_id: 'd' });
  assert.deepEqual(q.pending().map((r) => r.id), [B]);
  assert.equal(q.verdict(A)?.status, 'approved');
  q.setVerdict(B, { status: 'denied', reason: 'rejected by operator' });
  assert.equal(existsSync(join(q.dir, `${B}.json`)), false, 'deny removes the request');
  assert.deepEqual(q.verdict(B), { status: 'denied', reason: 'rejected by operator' });
  q.remove(A);
  q.remove(B);
  assert.deepEqual(readdirSync(q.dir), []);
});

test('stale requests without a verdict expire after the TTL', (t) => {
  const q = setup(t);
  q.add(req(A));
  q.add(req(B));
  q.setVerdict(B, { status: 'approved', cert: 'C', ca: 'CA', nonce: 'n', dispatcher_serial: 'ff', dispatcher_id: 'd' });
  const old = new Date(Date.now() - 601_000);
  utimesSync(join(q.dir, `${A}.json`), old, old);
  utimesSync(join(q.dir, `${B}.json`), old, old);
  assert.deepEqual(q.expireStale(), [A]);
  assert.equal(q.count(), 1);
});

test('ids that are not 16 hex digits never reach the file system', (t) => {
  const q = setup(t);
  assert.equal(q.get('../../etc/passwd'), undefined);
  assert.throws(() => q.setVerdict('../x', { status: 'denied', reason: 'r' }), { code: 'CE_ERR_NOT_FOUND' });
  assert.throws(() => q.add(req('ABCDEF0123456789')), { code: 'CE_ERR_NOT_FOUND' });
});

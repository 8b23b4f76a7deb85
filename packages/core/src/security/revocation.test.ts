import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRevokedSerials, RevocationList } from './revocation.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-revoked-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('every operator form of a serial revokes the certificate DEADBEEF', (t) => {
  const dir = tempDir(t);
  for (const form of ['deadbeef', 'DE:AD:BE:EF', '0xdeadbeef', 'serial=00DEADBEEF', '3735928559', '  DeadBeef  ', '00:de:ad:be:ef']) {
    const path = join(dir, 'revoked');
    writeFileSync(path, `${form}\n`);
    const { revoked, absent, warnings } = loadRevokedSerials(path);
    assert.equal(absent, false);
    assert.deepEqual(warnings, []);
    assert.equal(revoked.size, 1, form);
    assert.equal(revoked.isRevoked('DEADBEEF'), true, form);
    assert.equal(revoked.isRevoked('00DEADBEEF'), true, form);
    assert.equal(revoked.isRevoked('deadbeee'), false, form);
  }
});

test('comments, blank lines, CRLF and invalid lines', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'revoked');
  writeFileSync(
    path,
    '# revoked after the 2026 incident\r\n\r\n   \ndeadbeef   # laptop stolen\r\n#cafe\nnot-a-serial\n0x\nserial=\n12 34\n  ABCDEF0123456789ABCDEF0123456789 \n',
  );
  const { revoked, warnings } = loadRevokedSerials(path);
  assert.deepEqual(revoked.entries(), ['abcdef0123456789abcdef0123456789', 'deadbeef']);
  assert.equal(revoked.isRevoked('CAFE'), false, 'commented-out entry');
  assert.equal(revoked.isRevoked('abcdef0123456789abcdef0123456789'), true);
  assert.deepEqual(warnings, [
    { line: 6, entry: 'not-a-serial', message: 'invalid serial' },
    { line: 7, entry: '0x', message: 'invalid serial' },
    { line: 8, entry: 'serial=', message: 'invalid serial' },
    { line: 9, entry: '12 34', message: 'invalid serial' },
  ]);
});

test('a decimal entry matches as upstream read it (legacy collision kept for revocation)', () => {
  // Operator wrote "10": decimal ten, hex a. A certificate 0x0A is revoked; so is 0x10,
  // which upstream itself canonicalised to "a".
  const list = new RevocationList(['a']);
  assert.equal(list.isRevoked('0A'), true);
  assert.equal(list.isRevoked('10'), true);
  assert.equal(list.isRevoked('0B'), false);
});

test('absent file: nothing revoked, absent flagged', (t) => {
  const dir = tempDir(t);
  const r = loadRevokedSerials(join(dir, 'missing'));
  assert.equal(r.absent, true);
  assert.equal(r.revoked.size, 0);
  assert.equal(r.revoked.isRevoked('DEADBEEF'), false);
  assert.deepEqual(r.warnings, []);
});

test('unreadable path is CE_ERR_FS', (t) => {
  const dir = tempDir(t);
  const sub = join(dir, 'a-directory');
  mkdirSync(sub);
  assert.throws(() => loadRevokedSerials(sub), { code: 'CE_ERR_FS' });
  writeFileSync(join(dir, 'file'), '');
  assert.throws(() => loadRevokedSerials(join(dir, 'file', 'below-a-file')), { code: 'CE_ERR_FS' });
});

test('peers without a usable serial are never matched, never thrown', () => {
  const list = new RevocationList(['deadbeef', '0']);
  for (const s of ['', 'zz', 'serial=', ':::', 'dead beef', '\0']) assert.equal(list.isRevoked(s), false, JSON.stringify(s));
  assert.equal(new RevocationList().isRevoked('DEADBEEF'), false);
});

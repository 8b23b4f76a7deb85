import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, readdirSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readTrustedMap,
  writeTrustedMap,
  writeTrustedMapSync,
  addTrustedDispatcher,
  addTrustedDispatcherSync,
  parseTrustedMap,
  TrustedMap,
  TRUSTED_MAP_HEADER,
} from './trusted-map.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-trusted-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('write then read round trip: exact upstream layout, sorted by serial string, 0644', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state', 'ctrl-exec-dispatchers');
  const map = new TrustedMap().with('0A', 'ctrl-exec-dr').with('02', 'dispatcher01.example.com').with('1F:00', 'z_disp');
  await writeTrustedMap(path, map);
  const text = readFileSync(path, 'utf8');
  assert.equal(
    text,
    '# ctrl-exec trusted dispatchers: <serial> <id>, one per line.\n' +
      '# Managed by pairing - do not edit by hand.\n' +
      '1f00 z_disp\n' +
      '2 dispatcher01.example.com\n' +
      'a ctrl-exec-dr\n',
  );
  assert.equal(statSync(path).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(join(dir, 'state')), ['ctrl-exec-dispatchers'], 'no temp file left behind');
  const back = readTrustedMap(path);
  assert.deepEqual(back.entries(), map.entries());
  assert.deepEqual(back.warnings, []);
  assert.equal(back.size, 3);

  writeTrustedMapSync(path, back.without('2'));
  assert.deepEqual(readTrustedMap(path).entries(), [['1f00', 'z_disp'], ['a', 'ctrl-exec-dr']]);
  assert.equal(statSync(path).mode & 0o777, 0o644);
});

test('lookup by certificate serial, including a legacy upstream entry', () => {
  const map = parseTrustedMap('a dispatcher-legacy\n4f3c2a1b9e8d7c6b5a4f3e2d1c0b0a99 dispatcher-new\n');
  // Upstream read cert serial 0x10 as decimal ten and stored "a".
  assert.equal(map.lookup('10'), 'dispatcher-legacy');
  assert.equal(map.lookup('0A'), 'dispatcher-legacy');
  assert.equal(map.lookup('4F3C2A1B9E8D7C6B5A4F3E2D1C0B0A99'), 'dispatcher-new');
  assert.equal(map.lookup('004f3c2a1b9e8d7c6b5a4f3e2d1c0b0a99'), 'dispatcher-new');
  assert.equal(map.lookup('11'), undefined);
  for (const bad of ['', 'zz', 'serial=', ' ', '\0']) assert.equal(map.lookup(bad), undefined, JSON.stringify(bad));
  assert.equal(new TrustedMap().lookup('0A'), undefined);
});

test('reading: comments anywhere, blanks, whitespace runs, invalid lines skipped with warnings', () => {
  const map = parseTrustedMap(
    [
      '# header',
      '',
      '   0x0B    disp-b   # trailing comment',
      '\tserial=0C\tdisp.c_1',
      'DE:AD disp-d\r',
      'ff #only a serial',
      'zz not-hex',
      '01 -starts-with-dash',
      `02 ${'x'.repeat(65)}`,
      `03 ${'y'.repeat(64)}`,
      '04 two words',
      '05 bad/char',
      '#06 commented-out',
      '07 ok#comment-glued',
      '0b disp-b-again',
    ].join('\n'),
  );
  assert.deepEqual(map.entries(), [
    ['3', 'y'.repeat(64)],
    ['7', 'ok'],
    ['b', 'disp-b-again'],
    ['c', 'disp.c_1'],
    ['dead', 'disp-d'],
  ]);
  assert.deepEqual(
    map.warnings.map((w) => [w.line, w.message]),
    [
      [6, 'expected <serial> <id>'],
      [7, 'invalid serial'],
      [8, 'invalid dispatcher id'],
      [9, 'invalid dispatcher id'],
      [11, 'invalid dispatcher id'],
      [12, 'invalid dispatcher id'],
    ],
  );
});

test('absent file is an empty map; unreadable path is CE_ERR_FS', (t) => {
  const dir = tempDir(t);
  const missing = readTrustedMap(join(dir, 'nope'));
  assert.equal(missing.size, 0);
  assert.deepEqual(missing.entries(), []);
  mkdirSync(join(dir, 'is-a-dir'));
  assert.throws(() => readTrustedMap(join(dir, 'is-a-dir')), { code: 'CE_ERR_FS' });
});

test('addTrustedDispatcher keeps existing entries, replaces the same serial, empty id = serial', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ctrl-exec-dispatchers');
  writeFileSync(path, '# hand-made by an old version\na ctrl-exec-dr\n2 dispatcher01\n');
  const after = await addTrustedDispatcher(path, '4F3C2A1B', 'dispatcher02');
  assert.deepEqual(after.entries(), [['2', 'dispatcher01'], ['4f3c2a1b', 'dispatcher02'], ['a', 'ctrl-exec-dr']]);
  assert.deepEqual(readTrustedMap(path).entries(), after.entries());
  assert.ok(readFileSync(path, 'utf8').startsWith(TRUSTED_MAP_HEADER));

  await addTrustedDispatcher(path, 'serial=02', 'dispatcher01-renamed');
  assert.equal(readTrustedMap(path).lookup('02'), 'dispatcher01-renamed');
  assert.equal(readTrustedMap(path).size, 3);

  addTrustedDispatcherSync(path, '00:BE:EF', '');
  assert.equal(readTrustedMap(path).lookup('BEEF'), 'beef');
  assert.equal(statSync(path).mode & 0o777, 0o644);
});

test('addTrustedDispatcher with an empty serial writes nothing', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'sub', 'ctrl-exec-dispatchers');
  const m = await addTrustedDispatcher(path, '', 'disp');
  assert.equal(m.size, 0);
  assert.equal(existsSync(path), false);
  addTrustedDispatcherSync(path, '   ', 'disp');
  assert.equal(existsSync(path), false);
});

test('creating the map: parent directory made, file 0644', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'var', 'lib', 'ctrl-exec-agent', 'ctrl-exec-dispatchers');
  await addTrustedDispatcher(path, 'ABCDEF', 'dispatcher01');
  assert.equal(statSync(path).mode & 0o777, 0o644);
  assert.deepEqual(readTrustedMap(path).entries(), [['abcdef', 'dispatcher01']]);
});

test('hostile values are refused before anything is written', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'ctrl-exec-dispatchers');
  await assert.rejects(addTrustedDispatcher(path, 'not hex', 'disp'), { code: 'CE_ERR_SERIAL_INVALID' });
  await assert.rejects(addTrustedDispatcher(path, 'ab', 'evil\nff attacker'), { code: 'CE_ERR_BAD_REQUEST' });
  await assert.rejects(addTrustedDispatcher(path, 'ab', 'x'.repeat(65)), { code: 'CE_ERR_BAD_REQUEST' });
  assert.throws(() => new TrustedMap().with('ab', 'a b'), { code: 'CE_ERR_BAD_REQUEST' });
  assert.equal(existsSync(path), false);
  // without() of an unknown or invalid serial leaves the map unchanged
  const m = new TrustedMap().with('ab', 'disp');
  assert.deepEqual(m.without('zz').entries(), [['ab', 'disp']]);
  assert.deepEqual(m.without('cd').entries(), [['ab', 'disp']]);
  // maps are immutable values
  assert.equal(m.with('cd', 'other').size, 2);
  assert.equal(m.size, 1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { MAX_CONFIG_BYTES, readConfigFile, splitConfigLines } from './line-reader.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-lines-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('lines are numbered from 1; CRLF and a byte-order mark are dropped', () => {
  assert.deepEqual(splitConfigLines('\uFEFFa = 1\r\n\r\nb = 2'), [
    { line: 1, text: 'a = 1' },
    { line: 2, text: '' },
    { line: 3, text: 'b = 2' },
  ]);
  assert.deepEqual(splitConfigLines('x\n'), [{ line: 1, text: 'x' }]);
  assert.deepEqual(splitConfigLines(''), []);
});

test('reads a regular file as UTF-8', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.conf'), 'tag = caf\u00e9\n');
  assert.equal(readConfigFile(join(dir, 'a.conf')), 'tag = caf\u00e9\n');
});

test('a missing file is CE_ERR_CONFIG_MISSING naming the path', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'nope.conf');
  assert.throws(() => readConfigFile(path), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'CE_ERR_CONFIG_MISSING');
    assert.equal(err.file, path);
    assert.ok(err.message.includes(path));
    return true;
  });
});

test('a directory is refused with CE_ERR_CONFIG', (t) => {
  const dir = tempDir(t);
  assert.throws(() => readConfigFile(dir), { code: 'CE_ERR_CONFIG' });
});

test('a FIFO is refused without blocking', (t) => {
  const dir = tempDir(t);
  const fifo = join(dir, 'fifo.conf');
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => readConfigFile(fifo), { code: 'CE_ERR_CONFIG' });
});

test('a character device is refused', () => {
  assert.throws(() => readConfigFile('/dev/zero'), { code: 'CE_ERR_CONFIG' });
});

test('a file over the size limit is refused, not truncated', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'big.conf');
  writeFileSync(path, Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x61));
  assert.throws(() => readConfigFile(path), { code: 'CE_ERR_CONFIG' });
});

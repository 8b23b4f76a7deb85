import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-write.js';
import { CtrlExecError } from '../errors.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ce-atomic-'));
}

test('writes the whole content with the requested mode, even under umask 000', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = process.umask(0);
  try {
    await writeFileAtomic(join(dir, 'secret.key'), 'KEY', { mode: 0o600 });
    writeFileAtomicSync(join(dir, 'secret2.key'), 'KEY2', { mode: 0o600 });
  } finally {
    process.umask(old);
  }
  assert.equal(readFileSync(join(dir, 'secret.key'), 'utf8'), 'KEY');
  assert.equal(statSync(join(dir, 'secret.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'secret2.key')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).sort(), ['secret.key', 'secret2.key']);
});

test('replaces an existing file and leaves no temp file behind', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'map');
  writeFileSync(p, 'old');
  await writeFileAtomic(p, 'new');
  assert.equal(readFileSync(p, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['map']);
});

test('a failed write keeps the old content and cleans up, with CE_ERR_FS', async (t) => {
  const dir = tmp();
  t.after(() => {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  });
  const p = join(dir, 'map');
  writeFileSync(p, 'old');
  chmodSync(dir, 0o500);
  if (process.getuid?.() === 0) {
    // root ignores directory permissions; write into a missing directory instead
    await assert.rejects(writeFileAtomic(join(dir, 'missing', 'x'), 'new'), (e: unknown) => e instanceof CtrlExecError && e.code === 'CE_ERR_FS');
    assert.throws(() => writeFileAtomicSync(join(dir, 'missing', 'x'), 'new'), (e: unknown) => e instanceof CtrlExecError && e.code === 'CE_ERR_FS');
  } else {
    await assert.rejects(writeFileAtomic(p, 'new'), (e: unknown) => e instanceof CtrlExecError && e.code === 'CE_ERR_FS');
  }
  assert.equal(readFileSync(p, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir), ['map']);
});

test('mkdirParent creates the directory', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await writeFileAtomic(join(dir, 'a', 'b', 'c.json'), '{}', { mkdirParent: true });
  assert.equal(readFileSync(join(dir, 'a', 'b', 'c.json'), 'utf8'), '{}');
});

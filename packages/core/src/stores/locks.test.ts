import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { acquireLocks, listHeldLocks, lockFileName, parseLockFileName, sanitiseLockPart } from './locks.js';
import { CtrlExecError } from '../errors.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ce-locks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function lockedError(fn: () => unknown): CtrlExecError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CtrlExecError, String(err));
    return err;
  }
  assert.fail('expected an error');
}

test('file names: upstream sanitising, parsed back at the first --', () => {
  assert.equal(sanitiseLockPart('web-01.example.com'), 'web-01.example.com');
  assert.equal(sanitiseLockPart('a/b c:d'), 'a_b_c_d');
  assert.equal(lockFileName({ host: 'web-01', script: 'backup' }), 'web-01--backup.lock');
  assert.equal(lockFileName({ host: '../etc', script: 'x/../y' }), '.._etc--x_.._y.lock');
  assert.deepEqual(parseLockFileName('web-01--backup.lock'), { host: 'web-01', script: 'backup' });
  assert.deepEqual(parseLockFileName('web--01--s.lock'), { host: 'web', script: '01--s' });
  for (const bad of ['nosep.lock', '--s.lock', 'h--.lock', 'h--s.txt', '.hidden--s.lock']) assert.equal(parseLockFileName(bad), undefined, bad);
});

test('acquire creates the dir and 0660 files; a second acquire in the same process is refused', (t) => {
  const dir = join(tempDir(t), 'locks');
  const held = acquireLocks(dir, [{ host: 'web-01', script: 'backup' }, { host: 'web-02', script: 'backup' }]);
  assert.ok(statSync(dir).isDirectory());
  const file = join(dir, 'web-01--backup.lock');
  assert.equal(statSync(file).mode & 0o777, 0o660);

  const err = lockedError(() => acquireLocks(dir, [{ host: 'web-02', script: 'backup' }]));
  assert.equal(err.code, 'CE_ERR_LOCKED');
  assert.deepEqual(err.details.conflicts, ['web-02:backup']);
  assert.deepEqual(listHeldLocks(dir), [
    { host: 'web-01', script: 'backup' },
    { host: 'web-02', script: 'backup' },
  ]);

  held.release();
  held.release(); // idempotent
  assert.deepEqual(listHeldLocks(dir), []);
  // Files stay (unlinking a lock file races with other lockers).
  assert.ok(existsSync(file));
  acquireLocks(dir, [{ host: 'web-02', script: 'backup' }]).release();
});

test('all or nothing: every conflict is reported and nothing stays taken', (t) => {
  const dir = tempDir(t);
  const a = acquireLocks(dir, [{ host: 'a', script: 's' }, { host: 'c', script: 's' }]);
  const err = lockedError(() =>
    acquireLocks(dir, [{ host: 'b', script: 's' }, { host: 'a', script: 's' }, { host: 'd', script: 's' }, { host: 'c', script: 's' }]),
  );
  assert.equal(err.code, 'CE_ERR_LOCKED');
  assert.deepEqual(err.details.conflicts, ['a:s', 'c:s']);
  // b and d were taken on the way and must have been released again
  assert.deepEqual(listHeldLocks(dir).map((p) => p.host), ['a', 'c']);
  const bd = acquireLocks(dir, [{ host: 'b', script: 's' }, { host: 'd', script: 's' }]);
  bd.release();
  a.release();
});

test('the same pair twice (or two names sanitised alike) is one lock, not a self-conflict', (t) => {
  const dir = tempDir(t);
  const held = acquireLocks(dir, [{ host: 'h', script: 's' }, { host: 'h', script: 's' }]);
  assert.equal(held.pairs.length, 1);
  held.release();
});

test('hostile lock paths: a symlink, a FIFO or a directory is refused without hanging', (t) => {
  const dir = tempDir(t);
  const target = join(dir, 'victim');
  writeFileSync(target, 'keep');
  symlinkSync(target, join(dir, 'link--s.lock'));
  assert.equal(lockedError(() => acquireLocks(dir, [{ host: 'link', script: 's' }])).code, 'CE_ERR_FS');

  execFileSync('mkfifo', [join(dir, 'fifo--s.lock')]);
  assert.equal(lockedError(() => acquireLocks(dir, [{ host: 'fifo', script: 's' }])).code, 'CE_ERR_FS');

  mkdirSync(join(dir, 'dir--s.lock'));
  assert.equal(lockedError(() => acquireLocks(dir, [{ host: 'dir', script: 's' }])).code, 'CE_ERR_FS');

  // A path-like host stays inside the locks directory.
  const held = acquireLocks(dir, [{ host: '../../x', script: 's' }]);
  assert.ok(existsSync(join(dir, '.._.._x--s.lock')));
  held.release();
  // None of the odd files is reported as a held lock, and nothing was taken by the failures.
  assert.deepEqual(listHeldLocks(dir), []);
  assert.ok(readdirSync(dir).includes('victim'));
});

test('listHeldLocks on a missing directory is empty', (t) => {
  assert.deepEqual(listHeldLocks(join(tempDir(t), 'nope')), []);
});

test('a lock held by another process is seen, and is free right after that process is SIGKILLed', async (t) => {
  const dir = tempDir(t);
  const script = join(dir, 'holder.mjs');
  const locksUrl = new URL('./locks.js', import.meta.url).href;
  writeFileSync(
    script,
    `import { acquireLocks } from ${JSON.stringify(locksUrl)};\n` +
      `acquireLocks(process.argv[2], [{ host: 'web-01', script: 'deploy' }]);\n` +
      `process.stdout.write('held\\n');\n` +
      `setInterval(() => {}, 1000);\n`,
  );
  const locksDir = join(dir, 'locks');
  const child = spawn(process.execPath, [script, locksDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('held')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
  });

  assert.deepEqual(listHeldLocks(locksDir), [{ host: 'web-01', script: 'deploy' }]);
  const err = lockedError(() => acquireLocks(locksDir, [{ host: 'web-01', script: 'deploy' }]));
  assert.equal(err.code, 'CE_ERR_LOCKED');
  assert.deepEqual(err.details.conflicts, ['web-01:deploy']);

  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  assert.deepEqual(listHeldLocks(locksDir), []);
  acquireLocks(locksDir, [{ host: 'web-01', script: 'deploy' }]).release();
});

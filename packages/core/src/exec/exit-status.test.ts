import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startFailure } from './exit-status.js';
import { groupAlive, signalGroup } from './process-group.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

test('startFailure: cannot-execute errors are 127, resource errors and others -1', () => {
  for (const code of ['ENOENT', 'EACCES', 'ENOEXEC', 'ENOTDIR', 'EISDIR', 'ELOOP', 'E2BIG', 'ETXTBSY']) {
    assert.deepEqual(startFailure(errno(code)), { exit: 127, error: `exec failed: ${code}` });
  }
  for (const code of ['EAGAIN', 'EMFILE', 'ENFILE', 'ENOMEM', 'ERR_INVALID_ARG_VALUE']) {
    assert.deepEqual(startFailure(errno(code)), { exit: -1, error: `spawn failed: ${code}` });
  }
  assert.deepEqual(startFailure(new Error('weird')), { exit: -1, error: 'spawn failed: weird' });
  assert.deepEqual(startFailure('text'), { exit: -1, error: 'spawn failed: text' });
});

test('signalGroup/groupAlive refuse pids that would address our own group or everything', () => {
  for (const pid of [undefined, 0, 1, -1, -42, 1.5, Number.NaN]) {
    assert.equal(signalGroup(pid, 'SIGTERM'), false);
    assert.equal(groupAlive(pid), false);
  }
});

test('signalGroup reaches a detached child group; groupAlive follows it', async () => {
  const child = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
  await once(child, 'spawn');
  assert.equal(groupAlive(child.pid), true);
  assert.equal(signalGroup(child.pid, 'SIGKILL'), true);
  const [, signal] = await once(child, 'exit');
  assert.equal(signal, 'SIGKILL');
});

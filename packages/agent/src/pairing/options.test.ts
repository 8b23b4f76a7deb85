import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CtrlExecError } from '@ctrl-exec/core';
import { parsePairingOptions } from './options.js';

function usageError(fn: () => unknown): CtrlExecError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CtrlExecError);
    assert.equal(err.code, 'CE_ERR_USAGE');
    assert.equal(err.exitCode, 2);
    return err;
  }
  assert.fail('expected a usage error');
}

test('defaults: port 7444, foreground without a timeout, background 30 s', () => {
  assert.deepEqual(parsePairingOptions({ dispatcher: 'd.example' }), { dispatcher: 'd.example', port: 7444, background: false });
  assert.deepEqual(parsePairingOptions({ dispatcher: 'd', background: true }), { dispatcher: 'd', port: 7444, background: true, timeout: 30 });
});

test('all options', () => {
  assert.deepEqual(parsePairingOptions({ ctrlExec: '10.0.0.1', port: '1', lookupBy: 'ip', background: true, timeout: '600' }), {
    dispatcher: '10.0.0.1',
    port: 1,
    lookupBy: 'ip',
    background: true,
    timeout: 600,
  });
  assert.equal(parsePairingOptions({ dispatcher: '[::1]' }).dispatcher, '::1');
  assert.equal(parsePairingOptions({ dispatcher: 'a', ctrlExec: 'a' }).dispatcher, 'a');
});

test('hostile and wrong values are usage errors', () => {
  usageError(() => parsePairingOptions({}));
  usageError(() => parsePairingOptions({ dispatcher: '' }));
  usageError(() => parsePairingOptions({ dispatcher: 'a', ctrlExec: 'b' }));
  usageError(() => parsePairingOptions({ dispatcher: 'bad host' }));
  usageError(() => parsePairingOptions({ dispatcher: 'host\n' }));
  usageError(() => parsePairingOptions({ dispatcher: 'user@host' }));
  usageError(() => parsePairingOptions({ dispatcher: 'h/x' }));
  usageError(() => parsePairingOptions({ dispatcher: 'x'.repeat(254) }));
  for (const port of ['0', '65536', '-1', '1e3', ' 80', '80 ', '0x50', '']) usageError(() => parsePairingOptions({ dispatcher: 'd', port }));
  for (const lookupBy of ['IP', 'dns', '']) usageError(() => parsePairingOptions({ dispatcher: 'd', lookupBy }));
  for (const timeout of ['0', '-1', '1.5', 'abc', '', '9999999999']) usageError(() => parsePairingOptions({ dispatcher: 'd', timeout }));
  assert.equal(
    usageError(() => parsePairingOptions({ dispatcher: 'd', timeout: '601', background: true })).message,
    '--timeout cannot exceed 600 seconds in background mode.',
  );
  usageError(() => parsePairingOptions({ dispatcher: 'd', timeout: '601' }));
});

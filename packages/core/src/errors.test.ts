import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, CtrlExecError, ERROR_TABLE, ExitCode, UsageError, toCtrlExecError } from './errors.js';

test('every code maps to an HTTP status and an exit code', () => {
  for (const [code, spec] of Object.entries(ERROR_TABLE)) {
    assert.match(code, /^CE_ERR_[A-Z0-9_]+$/);
    assert.ok(spec.status >= 400 && spec.status < 600, code);
    assert.ok([0, 1, 2, 78].includes(spec.exit), code);
  }
});

test('config errors name file, line and key and exit 78', () => {
  const e = new ConfigError('must be a number', { file: '/etc/a.conf', line: 3, key: 'port' });
  assert.equal(e.code, 'CE_ERR_CONFIG');
  assert.equal(e.exitCode, ExitCode.CONFIG);
  assert.equal(e.message, "/etc/a.conf:3: 'port': must be a number");
  assert.deepEqual([e.file, e.line, e.key], ['/etc/a.conf', 3, 'port']);
});

test('usage errors exit 2; wrapped errors keep their cause', () => {
  assert.equal(new UsageError('x').exitCode, 2);
  const cause = new Error('boom');
  const wrapped = toCtrlExecError(cause);
  assert.equal(wrapped.code, 'CE_ERR_INTERNAL');
  assert.equal(wrapped.cause, cause);
  const same = new CtrlExecError('CE_ERR_LOCKED', 'held');
  assert.equal(toCtrlExecError(same), same);
  assert.equal(same.statusCode, 409);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VERSION } from '@ctrl-exec/core';
import { splitMode } from './main.js';
import { runAgent } from '../testing/agent-fixture.js';

test('--version prints the program and version, exit 0', async () => {
  const r = await runAgent(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `ctrl-exec-agent ${VERSION}\n`);
  assert.equal(r.stderr, '');
});

test('no mode: usage on stdout, exit 0, nothing started', async () => {
  const r = await runAgent([]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: ctrl-exec-agent /);
  for (const mode of ['request-pairing', 'pairing-status', 'paired']) assert.match(r.stdout, new RegExp(`^  ${mode} `, 'm'));
  assert.equal(r.stderr, '');
  const withConfig = await runAgent(['--config', '/nonexistent/agent.conf']);
  assert.equal(withConfig.code, 0);
  assert.match(withConfig.stdout, /^Usage: /);
});

test('an unknown mode: message and usage on stderr, exit 2', async () => {
  const r = await runAgent(['frobnicate']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Unknown mode 'frobnicate'\nUsage: ctrl-exec-agent /);
});

test('an unknown option without a mode is a usage error', async () => {
  const r = await runAgent(['--frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--frobnicate'/);
});

test('--help per mode, exit 0; the worker option is not shown', async () => {
  const r = await runAgent(['request-pairing', '--help']);
  assert.equal(r.code, 0);
  for (const opt of ['--dispatcher', '--ctrl-exec', '--port', '--lookup-by', '--background', '--timeout', '--config']) assert.ok(r.stdout.includes(opt), opt);
  assert.equal(r.stdout.includes('--background-worker'), false);
  const s = await runAgent(['pairing-status', '--help']);
  assert.equal(s.code, 0);
  assert.match(s.stdout, /pairing-status/);
});

test('unknown option of a mode and stray arguments are usage errors (exit 2)', async () => {
  const a = await runAgent(['paired', '--bogus']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /unknown option '--bogus'/);
  const b = await runAgent(['paired', 'extra']);
  assert.equal(b.code, 2);
});

test('a missing agent.conf is a configuration error (exit 78)', async () => {
  const r = await runAgent(['pairing-status', '--config', '/nonexistent/agent.conf']);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /\/nonexistent\/agent\.conf/);
});

test('splitMode finds the mode wherever options are', () => {
  assert.deepEqual(splitMode(['--config', 'x', 'request-pairing', '--dispatcher', 'd']), {
    mode: 'request-pairing',
    rest: ['--config', 'x', '--dispatcher', 'd'],
  });
  assert.deepEqual(splitMode(['--dispatcher', 'paired', 'request-pairing']), { mode: 'request-pairing', rest: ['--dispatcher', 'paired'] });
  assert.deepEqual(splitMode(['--config=x', 'paired']), { mode: 'paired', rest: ['--config=x'] });
  assert.deepEqual(splitMode(['--background']), { mode: undefined, rest: ['--background'] });
  assert.deepEqual(splitMode(['--', 'paired']), { mode: undefined, rest: ['--', 'paired'] });
  assert.deepEqual(splitMode([]), { mode: undefined, rest: [] });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VERSION } from '@ctrl-exec/core';
import { main, parseApiArgs, type ApiIO } from './main.js';

test('parseApiArgs: --config, --help, --version; anything else is a usage error', () => {
  assert.deepEqual(parseApiArgs([]), { kind: 'serve' });
  assert.deepEqual(parseApiArgs(['--config', '/etc/x.conf']), { kind: 'serve', configPath: '/etc/x.conf' });
  assert.deepEqual(parseApiArgs(['--config=/etc/y.conf']), { kind: 'serve', configPath: '/etc/y.conf' });
  assert.deepEqual(parseApiArgs(['-h']), { kind: 'help' });
  assert.deepEqual(parseApiArgs(['--version']), { kind: 'version' });
  for (const bad of [['--port', '1'], ['serve'], ['--config'], ['--config', ''], ['-x']]) {
    assert.throws(() => parseApiArgs(bad), { code: 'CE_ERR_USAGE' }, bad.join(' '));
  }
});

function io(): ApiIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env: {},
    onSignals: () => () => undefined,
  };
}

test('main: help and version exit 0, usage errors 2, a missing configuration 78', async () => {
  const a = io();
  assert.equal(await main(['--version'], a), 0);
  assert.deepEqual(a.out, [`ctrl-exec-api ${VERSION}`]);
  const b = io();
  assert.equal(await main(['--help'], b), 0);
  assert.match(b.out[0] ?? '', /^Usage: ctrl-exec-api \[--config <path>\]/);
  const c = io();
  assert.equal(await main(['--nope'], c), 2);
  assert.match(c.err[0] ?? '', /^ctrl-exec-api: /);
  const d = io();
  d.env = { CTRL_EXEC_CONFIG: '/nonexistent/ctrl-exec.conf' };
  assert.equal(await main([], d), 78);
  assert.match(d.err[0] ?? '', /nonexistent\/ctrl-exec\.conf/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CtrlExecError } from '@ctrl-exec/core';
import { resolveAgentName } from './agent-name.js';

test('agent.conf hostname wins', async () => {
  assert.deepEqual(await resolveAgentName({ configured: 'web-01.example.com', systemHostname: 'other' }), { name: 'web-01.example.com' });
});

test('a system name with a dot is used as it is', async () => {
  assert.deepEqual(await resolveAgentName({ systemHostname: 'db.example.org' }), { name: 'db.example.org' });
});

test('a short name that does not resolve falls back with a warning', async () => {
  const r = await resolveAgentName({ systemHostname: 'no-such-host-ce-test', timeoutMs: 2000 });
  assert.equal(r.name, 'no-such-host-ce-test');
  assert.match(r.warning ?? '', /^Warning: could not determine a fully qualified host name/);
});

test('names the dispatcher would refuse are rejected', async () => {
  for (const configured of ['-bad', 'a b', 'x/y', '']) {
    await assert.rejects(resolveAgentName({ configured }), (e: unknown) => e instanceof CtrlExecError && e.code === 'CE_ERR_BAD_REQUEST');
  }
  await assert.rejects(resolveAgentName({ systemHostname: '_weird', timeoutMs: 2000 }), (e: unknown) => e instanceof CtrlExecError && e.code === 'CE_ERR_BAD_REQUEST');
});

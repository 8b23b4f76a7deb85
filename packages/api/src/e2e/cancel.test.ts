/** `POST /status/{reqid}/cancel` against a real agent: the async run stops, the record says cancelled. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeApiEnv, startAgent, startApiProcess } from '../testing/fixtures.js';
import { httpRequest } from '../testing/http.js';

test('cancel: an async run stops at once and its record says cancelled; unknown and sync reqids are 404', async (t) => {
  const env = await makeApiEnv(t);
  await startAgent(env, 'agent-c', { job: 'sleep 30', quick: 'echo quick' });
  const api = await startApiProcess(env, ['--config', env.configPath]);

  const submit = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-c'], script: 'job', async: true } });
  assert.equal(submit.status, 202);
  const reqid = String(submit.json?.reqid);
  const started = Date.now();
  const cancel = await httpRequest(`${api.url}/status/${reqid}/cancel`, { method: 'POST' });
  assert.equal(cancel.status, 200, cancel.text);
  assert.deepEqual(cancel.json, { ok: true, reqid, results: [{ host: 'agent-c', status: 'cancelling' }] });
  const done = await httpRequest(`${api.url}/status/${reqid}?wait=20`);
  assert.ok(Date.now() - started < 15_000, 'well before the 30 s sleep');
  assert.equal(done.json?.complete, true);
  const host = (done.json?.hosts as Record<string, Record<string, unknown>>)['agent-c']!;
  assert.deepEqual([host.status, host.cancelled], ['done', true]);
  assert.ok(env.audit().some((e) => e.action === 'cancel' && e.reqid === reqid && e.hosts === 1));

  // Finished: nothing left to stop.
  const again = await httpRequest(`${api.url}/status/${reqid}/cancel`, { method: 'POST', body: { token: 'tok-cancel-777' } });
  assert.deepEqual(again.json, { ok: true, reqid, results: [] });
  assert.equal((await httpRequest(`${api.url}/status/0123456789abcdef/cancel`, { method: 'POST' })).status, 404);
  const sync = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-c'], script: 'quick' } });
  assert.equal((await httpRequest(`${api.url}/status/${String(sync.json?.reqid)}/cancel`, { method: 'POST' })).status, 404);
  assert.equal(env.auditText().includes('tok-cancel-777'), false);
});

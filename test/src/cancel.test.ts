/** Cancelling async runs end to end: the real dispatcher CLI and real agents on 127.0.0.1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ced } from './helpers/cli.js';
import { makeFleet } from './helpers/fleet.js';

test('cancel stops an async run on every host still running it; status then shows it cancelled', async (t) => {
  const { d, agents } = await makeFleet(t, 2);
  const names = agents.map((a) => a.name);
  const submit = await ced(['run', ...names, 'sleepy', '--async', '--', '30'], { env: d.env });
  assert.equal(submit.code, 0, submit.stderr);
  const reqid = /req:([0-9a-f]{16})/.exec(submit.stdout)![1]!;

  const started = Date.now();
  const cancel = await ced(['cancel', reqid], { env: d.env });
  assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
  assert.equal(cancel.stdout, `${names[0]}  [cancelling]\n${names[1]}  [cancelling]\n`);
  const wait = await ced(['wait', reqid, '--json'], { env: d.env });
  assert.ok(Date.now() - started < 20_000, 'finished long before the 30 s sleep');
  assert.equal(wait.code, 1, 'a cancelled run is not a success');
  const status = await ced(['status', reqid, '--json'], { env: d.env });
  const hosts = (JSON.parse(status.stdout) as { hosts: Record<string, { status: string; cancelled?: boolean; exit?: number }> }).hosts;
  for (const n of names) assert.deepEqual([hosts[n]!.status, hosts[n]!.cancelled], ['done', true], n);
  assert.ok(d.audit().some((e) => e.action === 'cancel' && e.reqid === reqid && e.hosts === 2));
  for (const a of agents) assert.ok(a.audit().some((e) => e.action === 'run' && e.reqid === reqid && e.cancelled === true));

  const again = await ced(['cancel', reqid], { env: d.env });
  assert.deepEqual([again.code, again.stdout], [0, `Nothing to cancel: ${reqid} is not running on any host.\n`]);
  const missing = await ced(['cancel', '0123456789abcdef'], { env: d.env });
  assert.deepEqual([missing.code, missing.stderr], [1, 'No such request: 0123456789abcdef\n']);
  assert.equal((await ced(['cancel', '../x'], { env: d.env })).code, 2);
});

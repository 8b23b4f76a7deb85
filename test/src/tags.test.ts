/** discover caches agent tags; --tags selects agents for run, ping and scan. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { ced } from './helpers/cli.js';
import { makeDispatcher } from './helpers/env.js';
import { provisionAgent } from './helpers/fleet.js';

test('discover caches tags; run, ping and scan --tags pick the matching agents', async (t) => {
  const d = await makeDispatcher(t, { read_timeout: 20 });
  const roles = { 'agent-01': 'web', 'agent-02': 'web', 'agent-03': 'db' } as const;
  const agents = [];
  for (const [name, role] of Object.entries(roles)) {
    const a = await provisionAgent(t, d, name);
    appendFileSync(a.config, `\n[tags]\nrole = ${role}\nenv = test\n`);
    agents.push(a);
  }
  await Promise.all(agents.map((a) => a.start()));

  // Nothing cached yet: a tag selection finds no agent and says why.
  const early = await ced(['run', '--tags', 'role=web', 'echo', '--', 'x'], { env: d.env });
  assert.equal(early.code, 2);
  assert.match(early.stderr, /No registered agent has the tags role=web \(tags are cached by 'ctrl-exec discover'\)/);

  const discover = await ced(['discover'], { env: d.env });
  assert.equal(discover.code, 0, discover.stderr);
  assert.match(discover.stdout, /^HOST +STATUS +TAGS +SCRIPTS\n-{85}\n/);
  assert.match(discover.stdout, /agent-03 +ok +env=test,role=db +echo fail sleepy whoami\n/);

  const run = await ced(['run', '--tags', 'role=web', 'echo', '--', 'hi'], { env: d.env });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual([...run.stdout.matchAll(/==> (\S+)/g)].map((m) => m[1]), ['agent-01', 'agent-02']);
  const mixed = await ced(['ping', 'agent-03', '--tags', 'role=web,env=test', '--json'], { env: d.env });
  assert.deepEqual((JSON.parse(mixed.stdout) as { results: Array<{ host: string }> }).results.map((r) => r.host), ['agent-03', 'agent-01', 'agent-02']);
  const none = await ced(['ping', '--tags', 'role=cache'], { env: d.env });
  assert.equal(none.code, 2);
  const bad = await ced(['ping', '--tags', 'role'], { env: d.env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid --tags filter/);
  const scan = await ced(['scan', '--tags', 'role=db', '--path', '/srv', '--engines', 'semgrep', '--json'], { env: d.env });
  // agent-03 has no scan runner: the selection reached it, and its line says so.
  assert.deepEqual((JSON.parse(scan.stdout) as { hosts: Array<{ host: string; ok: boolean }> }).hosts.map((h) => [h.host, h.ok]), [['agent-03', false]]);
});

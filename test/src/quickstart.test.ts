/** README's first command: the quickstart brings up a local stack and runs a real job, twice. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tempDir } from './helpers/env.js';

const SCRIPT = join(fileURLToPath(import.meta.url), '..', '..', '..', 'scripts', 'quickstart.mjs');

test('quickstart pairs an agent, runs a real job through the CLI and the API, and reuses its state the second time', (t) => {
  const dir = tempDir(t, 'ce-quickstart-');
  const env = { ...process.env, CTRL_EXEC_QUICKSTART_DIR: dir };
  t.after(() => {
    spawnSync(process.execPath, [SCRIPT, 'stop'], { env });
  });
  const first = spawnSync(process.execPath, [SCRIPT], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /Pairing agent-01 with the dispatcher/);
  assert.match(first.stdout, /==> agent-01 {2}\[OK {2}exit:0 {2}\d+ms {2}req:[0-9a-f]{16}\]\nhello from /);
  assert.match(first.stdout, /arg: quick start/);
  assert.match(first.stdout, /\$ curl -s -XPOST http:\/\/127\.0\.0\.1:\d+\/run -d '\{"hosts":\["agent-01"\],"script":"hello","args":\["from the API"\]\}'\n\{"ok":true,"reqid":"[0-9a-f]{16}","results":\[\{"host":"agent-01","exit":0/);

  const second = spawnSync(process.execPath, [SCRIPT], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(second.status, 0, second.stdout + second.stderr);
  assert.doesNotMatch(second.stdout, /Pairing agent-01|Creating the CA/);
  assert.match(second.stdout, /==> agent-01 {2}\[OK {2}exit:0/);

  const stop = spawnSync(process.execPath, [SCRIPT, 'stop'], { env, encoding: 'utf8' });
  assert.match(stop.stdout, /Stopped the agent \(pid \d+\)\./);
  assert.match(stop.stdout, /Stopped the API \(pid \d+\)\./);
});

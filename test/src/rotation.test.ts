/**
 * Dispatcher certificate rotation and agent certificate renewal, end to end: the real
 * dispatcher CLI and real agents on 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, certInfo, readTrustedMap } from '@ctrl-exec/core';
import { cea, ced } from './helpers/cli.js';
import { makeFleet, provisionAgent, type FleetAgent } from './helpers/fleet.js';
import { makeDispatcher } from './helpers/env.js';

/** POST /ping presenting an explicit certificate; resolves with the status code. */
function pingAs(agent: FleetAgent, identity: { cert: string; key: string }, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: agent.port, method: 'POST', path: '/ping', ca, cert: identity.cert, key: identity.key, agent: false, checkServerIdentity: () => undefined, headers: { 'Content-Type': 'application/json', 'Content-Length': 2 } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

test('rotate-cert: announced over the old certificate, confirmed, retried by maintain, stale after the overlap, old serial retired', async (t) => {
  const { d, agents } = await makeFleet(t, 4, { cert_overlap_days: 30 });
  const names = agents.map((a) => a.name);
  const [a1, a2, a3, a4] = agents as [FleetAgent, FleetAgent, FleetAgent, FleetAgent];
  const certPath = join(d.caDir, 'dispatcher.crt');
  const old = { cert: readFileSync(certPath, 'utf8'), key: readFileSync(join(d.caDir, 'dispatcher.key'), 'utf8') };
  const ca = readFileSync(join(d.caDir, 'ca.crt'), 'utf8');
  const oldSerial = certInfo(old.cert).serial;

  const none = await ced(['serial-status'], { env: d.env });
  assert.match(none.stdout, /^No rotation has been performed\.\n/);

  await a3.stop();
  await a4.stop();
  const rotated = await ced(['rotate-cert'], { env: d.env });
  assert.equal(rotated.code, 0, rotated.stderr);
  const newSerial = certInfo(readFileSync(certPath, 'utf8')).serial;
  assert.notEqual(newSerial, oldSerial);
  assert.equal(statSync(join(d.caDir, 'dispatcher.key')).mode & 0o777, 0o600);
  assert.match(rotated.stdout, new RegExp(`^New serial: +${newSerial}\\nOld serial: +${oldSerial}\\nOverlap expires: +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\nAgents pending: +4\\nUpdated: 2\\nFailed: +2\\n`));
  assert.match(rotated.stdout, /agent-03: host 'agent-03' did not respond on port \d+ - connection refused/);
  const state = JSON.parse(readFileSync(join(d.stateDir, 'rotation.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([state.current_serial, state.previous_serial, state.overlap_days], [newSerial, oldSerial, 30]);
  assert.equal(statSync(join(d.stateDir, 'rotation.json')).mode & 0o777, 0o640);
  assert.equal(statSync(join(d.stateDir, 'rotation-previous.key')).mode & 0o777, 0o600);

  // The confirmed agents trust both serials under the dispatcher's own id, and the new certificate works.
  for (const a of [a1, a2]) {
    const map = readTrustedMap(join(a.stateDir, 'ctrl-exec-dispatchers'));
    assert.deepEqual([map.lookup(oldSerial), map.lookup(newSerial)], ['test-dispatcher', 'test-dispatcher']);
  }
  const run = await ced(['run', a1.name, a2.name, 'echo', '--', 'after rotation'], { env: d.env });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const statuses = async () =>
    Object.fromEntries(
      (JSON.parse((await ced(['serial-status', '--json'], { env: d.env })).stdout) as { agents: Array<{ hostname: string; serial_status: string }> }).agents.map((a) => [a.hostname, a.serial_status]),
    );
  assert.deepEqual(await statuses(), { 'agent-01': 'current', 'agent-02': 'current', 'agent-03': 'pending', 'agent-04': 'pending' });
  const again = await ced(['rotate-cert'], { env: d.env });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^Rotation failed: a rotation is still in its overlap until /);

  // agent-03 comes back: maintain announces the serial to it (over the old certificate).
  await a3.start();
  const m1 = await ced(['maintain'], { env: d.env });
  assert.equal(m1.code, 0, m1.stderr);
  // Its ping (new certificate) came before the announcement: 2 of 4 answered.
  assert.equal(m1.stdout, 'Maintenance run: 2/4 agents pinged, dispatcher cert checked.\n');
  assert.deepEqual(await statuses(), { 'agent-01': 'current', 'agent-02': 'current', 'agent-03': 'current', 'agent-04': 'pending' });
  assert.equal((await ced(['run', a3.name, 'echo', '--', 'x'], { env: d.env })).code, 0);

  // The overlap ends (its date moved into the past): agent-04 is stale, the old serial is withdrawn.
  writeFileSync(join(d.stateDir, 'rotation.json'), JSON.stringify({ ...state, overlap_expires: '2020-01-01T00:00:00Z' }));
  assert.equal(await pingAs(a1, old, ca), 200, 'old certificate still trusted before retirement');
  const m2 = await ced(['maintain', '--json'], { env: d.env });
  assert.deepEqual(JSON.parse(m2.stdout), { ok: 1, agents: 4, pinged: 3 });
  assert.deepEqual(await statuses(), { 'agent-01': 'current', 'agent-02': 'current', 'agent-03': 'current', 'agent-04': 'stale' });
  for (const a of [a1, a2, a3]) {
    const map = readTrustedMap(join(a.stateDir, 'ctrl-exec-dispatchers'));
    assert.deepEqual([map.lookup(oldSerial), map.lookup(newSerial)], [undefined, 'test-dispatcher']);
    assert.equal(await pingAs(a, old, ca), 403, `${a.name} refuses the retired certificate`);
  }
  const retired = JSON.parse(readFileSync(join(d.stateDir, 'rotation.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(retired.previous_serial, undefined);
  assert.match(String(retired.previous_retired), /^\d{4}-\d\d-\d\dT/);
  assert.equal(existsSync(join(d.stateDir, 'rotation-previous.key')), false);
  const text = await ced(['serial-status'], { env: d.env });
  assert.match(text.stdout, new RegExp(`Current serial: +${newSerial}\\n`));
  assert.match(text.stdout, /HOSTNAME +STATUS +CONFIRMED +SERIAL\n-{85}\n/);
  assert.match(text.stdout, /agent-04 +stale +- +[0-9a-f]{16}\.\.\.\n/);

  const audit = d.audit();
  const one = (action: string) => audit.filter((e) => e.action === action);
  assert.deepEqual(one('cert-rotated').map((e) => [e.old_serial, e.new_serial, e.agents]), [[oldSerial, newSerial, 4]]);
  assert.deepEqual(one('serial-confirmed').map((e) => e.agent).sort(), ['agent-01', 'agent-02', 'agent-03']);
  assert.ok(one('serial-broadcast-fail').some((e) => e.agent === 'agent-04'));
  assert.deepEqual(one('serial-stale').map((e) => e.agent), ['agent-04']);
  assert.deepEqual(one('serial-retire').map((e) => [e.serial, e.hosts]), [[oldSerial, 3]]);
  assert.ok(one('cert-rotation-fail').length === 1, 'the refused second rotation');
  void names;
});

test('a corrupt rotation.json stops rotation and is reported', async (t) => {
  const d = await makeDispatcher(t);
  mkdirSync(d.stateDir, { recursive: true });
  writeFileSync(join(d.stateDir, 'rotation.json'), '{"current_serial": ');
  const before = readFileSync(join(d.caDir, 'dispatcher.crt'), 'utf8');
  const r = await ced(['rotate-cert'], { env: d.env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Rotation failed: rotation state '.*rotation\.json' is corrupt: JSON parse failed - rotation state unreadable\n/);
  assert.equal(readFileSync(join(d.caDir, 'dispatcher.crt'), 'utf8'), before, 'nothing rotated');
  const s = await ced(['serial-status'], { env: d.env });
  assert.equal(s.code, 1);
  assert.ok(d.audit().some((e) => e.action === 'rotation-state-corrupt' && e.reason === 'JSON parse failed - rotation state unreadable'));
});

test('renewal on ping: a due agent gets a staged certificate for the same key; promote-cert installs it; a wrong CN is refused', async (t) => {
  const d = await makeDispatcher(t, { read_timeout: 20 });
  const agent = await provisionAgent(t, d, 'agent-01', {}, 30);
  const impostor = await provisionAgent(t, d, 'agent-02', {}, 30);
  // agent-02 now calls itself something else: its CSR will not carry its registry name.
  writeFileSync(impostor.config, readFileSync(impostor.config, 'utf8').replace(/^hostname = .*$/m, 'hostname = someone-else'));
  await agent.start();
  await impostor.start();
  const liveKey = readFileSync(join(agent.certDir, 'agent.key'), 'utf8');
  const oldExpiry = certInfo(readFileSync(join(agent.certDir, 'agent.crt'), 'utf8')).notAfter;

  const ping = await ced(['ping', 'agent-01', 'agent-02'], { env: d.env });
  assert.equal(ping.code, 0, ping.stderr);
  const renewed = /Renewed certificate staged on agent-01 \(expires ([^)]+)\)/.exec(ping.stderr);
  assert.ok(renewed, ping.stderr);
  assert.match(ping.stderr, /Certificate renewal failed for agent-02: CSR subject CN does not match the expected identity/);
  const staged = join(agent.stateDir, 'agent.crt.staged');
  const stagedInfo = certInfo(readFileSync(staged, 'utf8'));
  assert.equal(stagedInfo.notAfter, renewed[1]);
  assert.notEqual(stagedInfo.notAfter, oldExpiry);
  assert.equal(existsSync(join(impostor.stateDir, 'agent.crt.staged')), false);
  const registry = new Registry(join(d.stateDir, 'agents'));
  assert.equal(registry.get('agent-01')!.expiry, renewed[1]);
  assert.equal(registry.get('agent-02')!.expiry, certInfo(readFileSync(join(impostor.certDir, 'agent.crt'), 'utf8')).notAfter);

  // Staged already: the next ping does not renew again.
  const ping2 = await ced(['ping', 'agent-01', '--json'], { env: d.env });
  assert.equal((JSON.parse(ping2.stdout) as { results: Array<{ staged: boolean }> }).results[0]!.staged, true);
  assert.equal(ping2.stderr, '');

  await agent.stop();
  const promoted = await cea(['promote-cert'], { env: agent.env });
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.equal(existsSync(staged), false);
  assert.equal(readFileSync(join(agent.certDir, 'agent.key'), 'utf8'), liveKey, 'same key');
  await agent.start();
  const ping3 = await ced(['ping', 'agent-01', '--json'], { env: d.env });
  const r3 = (JSON.parse(ping3.stdout) as { results: Array<{ staged: boolean; expiry: string }> }).results[0]!;
  assert.deepEqual([r3.staged, r3.expiry], [false, renewed[1]]);

  const audit = d.audit();
  assert.ok(audit.some((e) => e.action === 'renew' && e.status === 'starting'));
  assert.ok(audit.some((e) => e.action === 'renew-complete' && e.expiry === renewed[1]));
  assert.ok(audit.some((e) => e.action === 'renew' && e.error === 'CSR subject CN does not match the expected identity' && e.level === 'err'));
});

test('maintain: a failing phase is logged and reported while the others still run', async (t) => {
  const { d } = await makeFleet(t, 1);
  const runs = join(d.stateDir, 'runs');
  mkdirSync(runs, { recursive: true });
  const oldRecord = join(runs, '0123456789abcdef.json');
  writeFileSync(oldRecord, '{"ok":true,"reqid":"0123456789abcdef","results":[]}\n');
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  utimesSync(oldRecord, twoDaysAgo, twoDaysAgo);
  writeFileSync(join(d.stateDir, 'rotation.json'), 'not json');

  const m = await ced(['maintain'], { env: d.env });
  assert.equal(m.code, 1);
  assert.equal(m.stdout, 'Maintenance run: 1/1 agents pinged, dispatcher cert checked.\n');
  const failed = m.stderr.trim().split('\n');
  // rotate only reads the state when the certificate is due (it is not: 825 days left)
  assert.deepEqual(failed.map((l) => /^maintain: (\w+) failed: rotation state '.*' is corrupt: JSON parse failed/.exec(l)?.[1]), ['broadcast', 'expire']);
  assert.equal(existsSync(oldRecord), false, 'the purge phase ran');
  const audit = d.audit().filter((e) => e.action === 'maintain');
  assert.deepEqual(audit.filter((e) => e.phase !== undefined).map((e) => [e.phase, e.level]), [['broadcast', 'err'], ['expire', 'err']]);
  assert.deepEqual(audit.filter((e) => e.phase === undefined).map((e) => [e.agents, e.pinged]), [[1, 1]]);
});

/**
 * Scan orchestration end to end: `ctrl-exec scan` drives the scan runner as an allowlisted
 * script on real agents; the engines are stand-in binaries printing real scanner reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ced } from './helpers/cli.js';
import { makeDispatcher } from './helpers/env.js';
import { provisionAgent, type FleetAgent } from './helpers/fleet.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = join(ROOT, 'packages', 'orchestrator', 'dist', 'bin', 'ctrl-exec-scan.bundle.mjs');
const FIXTURES = join(ROOT, 'packages', 'orchestrator', 'fixtures', 'scanners');

/** Give an agent the scan runner (through the operator's wrapper) and two stand-in engines. */
function installRunner(agent: FleetAgent, delaySeconds = 0): string {
  const base = join(agent.dir, 'scan');
  const bin = join(base, 'bin');
  const src = join(base, 'srv', 'app');
  mkdirSync(bin, { recursive: true });
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'app.py'), 'print(1)\n');
  const engine = (name: string, fixture: string) => {
    const p = join(bin, name);
    writeFileSync(p, `#!/bin/sh\nfor a in "$@"; do ws="$a"; done\n[ -f "$ws/app.py" ] || exit 9\nsleep ${delaySeconds}\ncat '${join(FIXTURES, fixture)}'\n`);
    chmodSync(p, 0o755);
    return p;
  };
  const conf = join(base, 'scan.conf');
  writeFileSync(
    conf,
    `work_dir = ${base}\nscan_roots = ${join(base, 'srv')}\nengine.semgrep.command = ${engine('semgrep', 'semgrep/semgrep-1.30.0-five-findings.json')}\n` +
      `engine.trivy.command = ${engine('trivy', 'trivy/trivy-fs-vulns-misconfig-secrets.json')}\n`,
  );
  const wrapper = join(base, 'scan.sh');
  writeFileSync(wrapper, `#!/bin/sh\nCTRL_EXEC_SCAN_CONFIG='${conf}' exec '${process.execPath}' '${RUNNER}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  appendFileSync(agent.scriptsConf, `scan = ${wrapper} max_output=8M timeout=120\n`);
  return src;
}

test('ctrl-exec scan: two agents scan the same source; findings merged, SARIF written, --fail-on, a refused source', async (t) => {
  const d = await makeDispatcher(t, { read_timeout: 20 });
  const agents = [await provisionAgent(t, d, 'agent-01'), await provisionAgent(t, d, 'agent-02')];
  const dirs = agents.map(installRunner);
  await Promise.all(agents.map((a) => a.start()));
  // Both agents scan their copy of the same project at the same relative place.
  const sarif = join(d.dir, 'out', 'report.sarif');
  mkdirSync(join(d.dir, 'out'));

  const bad = await ced(['scan', 'agent-01', '--engines', 'semgrep'], { env: d.env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /give exactly one source: git, archive or path/);
  const badType = await ced(['scan', 'agent-01', '--types', 'dast', '--path', dirs[0]!], { env: d.env });
  assert.equal(badType.code, 2);
  assert.match(badType.stderr, /unknown scan type 'dast'/);

  const one = await ced(['scan', 'agent-01', '--engines', 'semgrep,trivy', '--path', dirs[0]!, '--sarif', sarif], { env: d.env });
  assert.equal(one.code, 0, one.stdout + one.stderr);
  assert.match(one.stdout, /^==> agent-01 {2}\[OK\] {2}path \/.*\/scan\/srv\/app\n {4}semgrep 5, trivy 5\n/);
  assert.match(one.stdout, /\nFindings: 10 \(critical \d+, high \d+, medium \d+, low \d+, info \d+\)\nSEVERITY +TYPE +RULE +WHERE\n/);
  assert.match(one.stdout, /SARIF written to /);
  const log = JSON.parse(readFileSync(sarif, 'utf8')) as { version: string; runs: Array<{ tool: { driver: { name: string } }; results: unknown[] }> };
  assert.equal(log.version, '2.1.0');
  assert.deepEqual(log.runs.map((r) => [r.tool.driver.name, r.results.length]), [['semgrep', 5], ['trivy', 5]]);

  // agent-02 gets a path outside its scan_roots: its line says why, the merged findings are agent-01's.
  const both = await ced(['scan', 'agent-01', 'agent-02', '--engines', 'semgrep', '--path', dirs[0]!, '--json'], { env: d.env });
  assert.equal(both.code, 1);
  const json = JSON.parse(both.stdout) as { ok: number; reqid: string; hosts: Array<Record<string, unknown>>; findings: Array<{ engines: string[]; occurrences: number }> };
  assert.deepEqual(json.hosts.map((h) => [h.host, h.ok, h.findings]), [['agent-01', true, 5], ['agent-02', false, 0]]);
  assert.match(String(json.hosts[1]!.error), /is outside scan_roots/);
  assert.equal(json.findings.length, 5);

  // Each agent scans its own copy: the same findings from two hosts merge into one each.
  writeFileSync(join(agents[1]!.dir, 'scan', 'scan.conf'), readFileSync(join(agents[1]!.dir, 'scan', 'scan.conf'), 'utf8').replace(/^scan_roots = .*$/m, `scan_roots = ${join(agents[0]!.dir, 'scan', 'srv')}`));
  const merged = await ced(['scan', 'agent-01', 'agent-02', '--types', 'sast', '--path', dirs[0]!, '--json'], { env: d.env });
  assert.equal(merged.code, 0, merged.stdout);
  const m = JSON.parse(merged.stdout) as { findings: Array<{ engines: string[]; occurrences: number }> };
  assert.equal(m.findings.length, 5);
  assert.ok(m.findings.every((f) => f.occurrences === 2 && f.engines.join() === 'semgrep'));

  const gate = await ced(['scan', 'agent-01', '--types', 'sast', '--path', dirs[0]!, '--fail-on', 'medium'], { env: d.env });
  assert.equal(gate.code, 3, gate.stdout + gate.stderr);
  assert.match(gate.stderr, /Findings: 5 .*: at or above medium/);
  const pass = await ced(['scan', 'agent-01', '--types', 'sast', '--path', dirs[0]!, '--fail-on', 'critical'], { env: d.env });
  assert.equal(pass.code, 0);

  assert.ok(d.audit().some((e) => e.action === 'scan' && e.findings === 10 && e.hosts === 1));
  assert.ok(agents[0]!.audit().some((e) => e.action === 'run' && e.script === 'scan'));
});

test('scan --async: a job id at once, scan-status while running, --wait until done, SARIF, partial jobs', async (t) => {
  const d = await makeDispatcher(t, { read_timeout: 20 });
  const agents = [await provisionAgent(t, d, 'agent-01'), await provisionAgent(t, d, 'agent-02')];
  const dirs = agents.map((a) => installRunner(a, 2));
  await Promise.all(agents.map((a) => a.start()));

  const submit = await ced(['scan', 'agent-01', '--engines', 'semgrep,trivy', '--path', dirs[0]!, '--async'], { env: d.env });
  assert.equal(submit.code, 0, submit.stdout + submit.stderr);
  const id = /^Submitted scan job ([0-9a-f]{16}) \(semgrep, trivy\) on 1\/1 host\(s\)\n {2}agent-01 {2}\[accepted\]\nFollow it with: ctrl-exec scan-status \1 --wait\n$/.exec(submit.stdout)?.[1];
  assert.ok(id, submit.stdout);

  const running = await ced(['scan-status', id, '--json'], { env: d.env });
  assert.equal(running.code, 0);
  const r = JSON.parse(running.stdout) as { status: string; hosts: Array<{ host: string; running?: boolean }> };
  assert.deepEqual([r.status, r.hosts.map((h) => [h.host, h.running])], ['running', [['agent-01', true]]]);

  const sarif = join(d.dir, 'job.sarif');
  const done = await ced(['scan-status', id, '--wait', '--sarif', sarif], { env: d.env });
  assert.equal(done.code, 0, done.stdout + done.stderr);
  assert.match(done.stdout, new RegExp(`^Scan job ${id}: completed \\(semgrep, trivy\\)\n==> agent-01 {2}\\[OK\\]`));
  assert.match(done.stdout, /\nFindings: 10 /);
  const log = JSON.parse(readFileSync(sarif, 'utf8')) as { runs: Array<{ automationDetails: { id: string } }> };
  assert.equal(log.runs[0]!.automationDetails.id, `ctrl-exec-scan/${id}`);
  // The job is an ordinary async run record too.
  const status = await ced(['status', id], { env: d.env });
  assert.equal(status.code, 0, status.stdout);

  // One host refuses the source: the job ends partial (exit 1) with the other host's findings.
  const two = await ced(['scan', 'agent-01', 'agent-02', '--types', 'sast', '--path', dirs[0]!, '--async', '--json'], { env: d.env });
  const job = (JSON.parse(two.stdout) as { id: string }).id;
  const partial = await ced(['scan-status', job, '--wait', '--json'], { env: d.env });
  assert.equal(partial.code, 1);
  const p = JSON.parse(partial.stdout) as { status: string; hosts: Array<{ host: string; ok: boolean; error?: string }>; findings: unknown[] };
  assert.equal(p.status, 'partial');
  assert.deepEqual(p.hosts.map((h) => [h.host, h.ok]), [['agent-01', true], ['agent-02', false]]);
  assert.match(p.hosts[1]!.error!, /outside scan_roots/);
  assert.equal(p.findings.length, 5);

  // Not every request is a scan job.
  const plain = await ced(['run', 'agent-01', 'echo', '--async', '--', 'x'], { env: d.env });
  const plainId = /req:([0-9a-f]{16})/.exec(plain.stdout)![1]!;
  const notScan = await ced(['scan-status', plainId], { env: d.env });
  assert.equal(notScan.code, 1);
  assert.equal(notScan.stderr, `${plainId} is not a scan job (see 'ctrl-exec status ${plainId}')\n`);
  const missing = await ced(['scan-status', '0123456789abcdef'], { env: d.env });
  assert.deepEqual([missing.code, missing.stderr], [1, 'No such request: 0123456789abcdef\n']);
  const badId = await ced(['scan-status', '../../etc/passwd'], { env: d.env });
  assert.equal(badId.code, 2);
  // Let the plain job finish writing before the directories go.
  assert.equal((await ced(['wait', plainId, '--timeout', '15'], { env: d.env })).code, 0);
});

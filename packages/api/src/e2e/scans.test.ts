/**
 * Scan jobs through the HTTP API, against a real agent running the real scan runner (the
 * engines are stand-ins that print real scanner reports): POST /scans, GET /scans/{id}
 * while running and once done, the SARIF, the errors, and the CLI reading the same job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_BIN, makeApiEnv, runProcess, startAgent, startApiProcess, type ApiEnv } from '../testing/fixtures.js';
import { httpRequest } from '../testing/http.js';

const RUNNER = fileURLToPath(new URL('../../../orchestrator/dist/bin/ctrl-exec-scan.bundle.mjs', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../orchestrator/fixtures/scanners/', import.meta.url));

/** scan.conf with stand-in engines, a source directory, and the agent's `scan` script body. */
function runnerSetup(env: ApiEnv): { src: string; script: string } {
  const base = join(env.dir, 'scan');
  const bin = join(base, 'bin');
  const src = join(base, 'srv', 'app');
  for (const d of [base, bin, src, join(base, 'work')]) mkdirSync(d, { recursive: true });
  chmodSync(base, 0o755);
  writeFileSync(join(src, 'app.py'), 'print(1)\n');
  const engine = (name: string, fixture: string) => {
    const p = join(bin, name);
    writeFileSync(p, `#!/bin/sh\nsleep 1\ncat '${FIXTURES}${fixture}'\n`);
    chmodSync(p, 0o755);
    return p;
  };
  const conf = join(base, 'scan.conf');
  writeFileSync(
    conf,
    `work_dir = ${join(base, 'work')}\nscan_roots = ${join(base, 'srv')}\n` +
      `engine.semgrep.command = ${engine('semgrep', 'semgrep/semgrep-1.30.0-five-findings.json')}\n` +
      `engine.trivy.command = ${engine('trivy', 'trivy/trivy-fs-vulns-misconfig-secrets.json')}\n`,
  );
  return { src, script: `CTRL_EXEC_SCAN_CONFIG='${conf}' exec '${process.execPath}' '${RUNNER}' "$@"` };
}

test('POST /scans → 202 + Location; GET /scans/{id} running then completed with merged findings; SARIF; errors; the CLI reads the job', async (t) => {
  const env = await makeApiEnv(t);
  const { src, script } = runnerSetup(env);
  await startAgent(env, 'agent-s', { scan: script, echo: 'echo "$@"' });
  const api = await startApiProcess(env, ['--config', env.configPath]);

  const submit = await httpRequest(`${api.url}/scans`, { body: { hosts: ['agent-s'], path: src, engines: ['semgrep', 'trivy'], token: 'scan-token-9876' } });
  assert.equal(submit.status, 202, submit.text + api.stderr());
  const id = String(submit.json?.id);
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.equal(submit.headers.location, `/scans/${id}`);
  assert.deepEqual([submit.json?.status, submit.json?.engines], ['running', ['semgrep', 'trivy']]);

  const running = await httpRequest(`${api.url}/scans/${id}`);
  assert.equal(running.status, 200);
  assert.equal(running.json?.status, 'running');

  let body: Record<string, unknown> | undefined;
  for (let i = 0; i < 100 && body?.status !== 'completed'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    body = (await httpRequest(`${api.url}/scans/${id}`)).json;
  }
  assert.equal(body?.status, 'completed', JSON.stringify(body));
  const hosts = body!.hosts as Array<Record<string, unknown>>;
  assert.deepEqual(hosts.map((h) => [h.host, h.ok, h.findings]), [['agent-s', true, 10]]);
  assert.match(String(hosts[0]!.source), /^path \/.*\/scan\/srv\/app$/);
  const findings = body!.findings as Array<Record<string, unknown>>;
  assert.equal(findings.length, 10);
  const counts = body!.counts as Record<string, number>;
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 10);
  for (const f of findings) {
    assert.match(String(f.fingerprint), /^[0-9a-f]{32}$/);
    assert.deepEqual(f.engines, [f.engine]);
  }

  const sarif = await httpRequest(`${api.url}/scans/${id}/sarif`);
  assert.equal(sarif.status, 200);
  assert.match(String(sarif.headers['content-type']), /^application\/sarif\+json/);
  const runs = sarif.json?.runs as Array<{ tool: { driver: { name: string } }; results: unknown[]; automationDetails: { id: string } }>;
  assert.deepEqual(runs.map((r) => [r.tool.driver.name, r.results.length]), [['semgrep', 5], ['trivy', 5]]);
  assert.equal(runs[0]!.automationDetails.id, `ctrl-exec-scan/${id}`);

  // The CLI follows the same job.
  const cli = await runProcess(CLI_BIN, ['scan-status', id, '--json', '--config', env.cliConfig()]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal((JSON.parse(cli.stdout) as Record<string, unknown>).status, 'completed');

  // Errors.
  const noSource = await httpRequest(`${api.url}/scans`, { body: { hosts: ['agent-s'] } });
  assert.deepEqual([noSource.status, noSource.json], [400, { ok: false, error: 'bad request', detail: 'give exactly one source: git, archive or path' }]);
  const badType = await httpRequest(`${api.url}/scans`, { body: { hosts: ['agent-s'], types: ['dast'], path: src } });
  assert.equal(badType.json?.detail, "unknown scan type 'dast' (sast, sca, secrets, licence, misconfig)");
  const unknownHost = await httpRequest(`${api.url}/scans`, { body: { hosts: ['nobody'], path: src } });
  assert.equal(unknownHost.status, 404);
  const malformed = await httpRequest(`${api.url}/scans`, { rawBody: '{"hosts":', headers: { 'content-type': 'application/json' } });
  assert.equal(malformed.status, 400);
  assert.equal((await httpRequest(`${api.url}/scans/0123456789abcdef`)).status, 404);
  assert.equal((await httpRequest(`${api.url}/scans/not-an-id`)).status, 404);
  const plain = await httpRequest(`${api.url}/run`, { body: { hosts: ['agent-s'], script: 'echo', args: ['x'], async: true } });
  const plainId = String(plain.json?.reqid);
  const notScan = await httpRequest(`${api.url}/scans/${plainId}`);
  assert.deepEqual([notScan.status, notScan.json], [404, { ok: false, error: 'not found', detail: `no scan job ${plainId}` }]);
  // Let that job finish writing before the directories go.
  assert.equal((await httpRequest(`${api.url}/status/${plainId}?wait=15`)).json?.complete, true);

  assert.ok(env.audit().some((e) => e.action === 'scan-submit' && e.reqid === id && e.engines === 'semgrep,trivy'));
  assert.equal(env.auditText().includes('scan-token-9876'), false, 'the token is never logged');
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCa, createCsr, generateRsaKey, issueCertificate, loadCa } from '@ctrl-exec/core';
import { FIXTURES_DIR } from '../testing/fixtures.js';
import type { ScanReport } from './main.js';

const RUNNER = fileURLToPath(new URL('../bin/ctrl-exec-scan.js', import.meta.url));

function dir(t: TestContext, prefix = 'ce-scan-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A stand-in engine binary: checks it was given the workspace, then prints a real report. */
function fakeEngine(bin: string, name: string, body: string): string {
  const p = join(bin, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

interface Setup {
  root: string;
  work: string;
  src: string;
  conf: string;
  env: NodeJS.ProcessEnv;
}

function setup(t: TestContext, extraConf = ''): Setup {
  const root = dir(t);
  const work = join(root, 'work');
  const src = join(root, 'srv', 'app');
  const bin = join(root, 'bin');
  for (const d of [work, src, bin]) mkdirSync(d, { recursive: true });
  writeFileSync(join(src, 'app.py'), 'print("hello")\n');
  // The workspace is the last argument (local mode); the fakes insist on seeing app.py there.
  const last = 'for a in "$@"; do ws="$a"; done; ws="${ws#dir:}"; [ -f "$ws/app.py" ] || { echo "no workspace: $ws" >&2; exit 9; }';
  const semgrep = fakeEngine(bin, 'semgrep', `${last}\ncat '${FIXTURES_DIR}semgrep/semgrep-1.30.0-five-findings.json'`);
  const trivy = fakeEngine(bin, 'trivy', `${last}\ncat '${FIXTURES_DIR}trivy/trivy-fs-vulns-misconfig-secrets.json'`);
  const gitleaks = fakeEngine(bin, 'gitleaks', `echo 'gitleaks: database locked' >&2; exit 4`);
  const trufflehog = fakeEngine(bin, 'trufflehog', `${last}\necho 'this is not json'`);
  const grype = fakeEngine(bin, 'grype', `${last}\nsleep 30`);
  const conf = join(root, 'scan.conf');
  writeFileSync(
    conf,
    [
      `work_dir = ${work}`,
      `scan_roots = ${join(root, 'srv')}`,
      'scan_timeout = 2',
      'download_timeout = 10',
      `engine.semgrep.command = ${semgrep}`,
      `engine.trivy.command = ${trivy}`,
      `engine.gitleaks.command = ${gitleaks}`,
      `engine.trufflehog.command = ${trufflehog}`,
      `engine.grype.command = ${grype}`,
      extraConf,
    ].join('\n'),
  );
  return { root, work, src, conf, env: { PATH: process.env.PATH, CTRL_EXEC_SCAN_CONFIG: conf } };
}

function runner(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; report: ScanReport; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, report: JSON.parse(out) as ScanReport, stderr: err });
      } catch {
        reject(new Error(`runner printed no JSON (exit ${code}): ${out}${err}`));
      }
    });
  });
}

test('path source: engines run in parallel on the directory; findings normalised; broken engines reported, not fatal', async (t) => {
  const s = setup(t);
  const all = await runner(['--engine', 'semgrep', '--engine', 'trivy', '--engine', 'gitleaks', '--engine', 'trufflehog', '--engine', 'grype', '--source', 'path', '--path', s.src], s.env);
  assert.equal(all.code, 1, all.stderr);
  assert.equal(all.report.ok, false);
  assert.match(all.report.source!, /^path \/.*\/srv\/app$/);
  const e = all.report.engines;
  assert.deepEqual([e.semgrep!.ok, e.semgrep!.findings, e.trivy!.ok, e.trivy!.findings], [true, 5, true, 5]);
  assert.deepEqual(e.gitleaks, { ok: false, error: 'exited 4: gitleaks: database locked', duration_ms: e.gitleaks!.duration_ms });
  assert.match(e.trufflehog!.error!, /^cannot read trufflehog output: line 1/);
  assert.equal(e.grype!.error, 'timed out after 2s');
  assert.ok(e.grype!.duration_ms < 10_000, 'the engine was killed at its timeout');
  assert.equal(all.report.findings.length, 10);
  assert.deepEqual([...new Set(all.report.findings.map((f) => f.engine))].sort(), ['semgrep', 'trivy']);
  for (const f of all.report.findings) assert.match(f.fingerprint, /^[0-9a-f]{32}$/);
  // Path sources are used in place: nothing left in work_dir.
  assert.deepEqual(readdirSync(s.work), []);

  const good = await runner(['--engine', 'semgrep', '--source', 'path', '--path', s.src], s.env);
  assert.deepEqual([good.code, good.report.ok, good.report.findings.length], [0, true, 5]);
});

test('path source: outside scan_roots, via a symlink, missing, or with no scan_roots at all is refused (exit 2)', async (t) => {
  const s = setup(t);
  symlinkSync('/etc', join(s.root, 'srv', 'etc-link'));
  const cases: Array<[string, RegExp]> = [
    ['/etc', /^path '\/etc' is outside scan_roots/],
    [join(s.root, 'srv', 'etc-link'), /is outside scan_roots/],
    [join(s.root, 'srv', 'missing'), /is not readable \(ENOENT\)/],
  ];
  for (const [path, error] of cases) {
    const r = await runner(['--engine', 'semgrep', '--source', 'path', '--path', path], s.env);
    assert.equal(r.code, 2);
    assert.match(r.report.error!, error);
    assert.deepEqual([r.report.ok, r.report.findings, r.report.engines], [false, [], {}]);
  }
  const noRoots = join(s.root, 'noroots.conf');
  writeFileSync(noRoots, `work_dir = ${s.work}\n`);
  const r = await runner(['--engine', 'semgrep', '--source', 'path', '--path', s.src], { ...s.env, CTRL_EXEC_SCAN_CONFIG: noRoots });
  assert.equal(r.code, 2);
  assert.equal(r.report.error, `path sources are disabled: set scan_roots in ${noRoots}`);
});

test('bad request and bad configuration are one JSON line and exit 2', async (t) => {
  const s = setup(t);
  const r = await runner(['--engine', 'semgrep', '--source', 'git', '--url', 'file:///etc'], s.env);
  assert.deepEqual([r.code, r.report.error], [2, '--source git needs --url https://..., ssh://... or user@host:path']);
  const broken = join(s.root, 'broken.conf');
  writeFileSync(broken, 'engine_mode = vm\n');
  const c = await runner(['--engine', 'semgrep', '--source', 'path', '--path', s.src], { ...s.env, CTRL_EXEC_SCAN_CONFIG: broken });
  assert.deepEqual([c.code, c.report.error], [2, `scan config: ${broken}:1: engine_mode: local or container`]);
});

test('git source over a refused transport never reaches the network; an unreachable https remote is a clean error', async (t) => {
  const s = setup(t);
  const r = await runner(['--engine', 'semgrep', '--source', 'git', '--url', 'https://127.0.0.1:1/none.git'], s.env);
  assert.equal(r.code, 2);
  assert.match(r.report.error!, /^git fetch failed: /);
  assert.deepEqual(readdirSync(s.work), [], 'the failed workspace is removed');
});

async function httpsServer(t: TestContext, files: Record<string, Buffer>): Promise<{ port: number; caFile: string }> {
  const d = dir(t, 'ce-scan-https-');
  await createCa({ dir: join(d, 'ca'), keyBits: 2048 });
  const ca = loadCa(join(d, 'ca'));
  const key = await generateRsaKey(2048);
  const cert = issueCertificate(ca, createCsr(key, 'localhost'), { days: 2 }).certPem;
  const caFile = join(d, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  const server = https.createServer({ key, cert }, (req, res) => {
    const body = files[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, caFile };
}

test('archive source: downloaded over https, extracted without escaping the workspace, then removed', async (t) => {
  const s = setup(t, 'max_archive_bytes = 1M');
  const make = dir(t, 'ce-scan-tar-');
  mkdirSync(join(make, 'app'));
  writeFileSync(join(make, 'app', 'app.py'), 'print(1)\n');
  const good = execFileSync('tar', ['-czf', '-', '-C', join(make, 'app'), '.']);
  // members named ../../escaped.txt and /tmp/...: both would land outside the workspace
  writeFileSync(join(make, 'escaped.txt'), 'x\n');
  writeFileSync(join(make, 'app.py'), 'print(2)\n');
  const evil = execFileSync('tar', ['-cf', '-', '-C', make, '--transform', 's,^escaped,../../escaped,', 'escaped.txt', 'app.py']);
  const { port, caFile } = await httpsServer(t, { '/good.tgz': good, '/evil.tar': evil, '/big.tar': Buffer.alloc(2 * 1024 * 1024), '/junk.tgz': Buffer.from('not an archive') });
  const env = { ...s.env, NODE_EXTRA_CA_CERTS: caFile };
  const url = (p: string) => `https://localhost:${port}${p}`;

  const ok = await runner(['--engine', 'semgrep', '--source', 'archive', '--url', url('/good.tgz')], env);
  assert.deepEqual([ok.code, ok.report.source, ok.report.findings.length], [0, `archive ${url('/good.tgz')}`, 5]);

  const escaped = await runner(['--engine', 'semgrep', '--source', 'archive', '--url', url('/evil.tar')], env);
  // GNU tar strips the ../ and reports it; the runner refuses such an archive altogether
  assert.equal(escaped.code, 2, JSON.stringify(escaped.report));
  assert.match(escaped.report.error!, /^not a readable archive: tar: Removing leading `\.\.\/\.\.\/' from member names/);
  for (const outside of [join(s.work, 'escaped.txt'), join(s.root, 'escaped.txt')]) assert.equal(existsSync(outside), false, `nothing written at ${outside}`);

  const big = await runner(['--engine', 'semgrep', '--source', 'archive', '--url', url('/big.tar')], env);
  assert.deepEqual([big.code, big.report.error], [2, `archive is ${2 * 1024 * 1024} bytes, over max_archive_bytes (${1024 * 1024})`]);
  const junk = await runner(['--engine', 'semgrep', '--source', 'archive', '--url', url('/junk.tgz')], env);
  assert.match(junk.report.error!, /^not a readable archive: /);
  const missing = await runner(['--engine', 'semgrep', '--source', 'archive', '--url', url('/missing.tgz')], env);
  assert.equal(missing.report.error, 'download failed: HTTP 404');
  const untrusted = await runner(['--engine', 'semgrep', '--source', 'archive', '--url', url('/good.tgz')], s.env);
  assert.match(untrusted.report.error!, /^download failed: /);
  assert.deepEqual(readdirSync(s.work), [], 'every workspace removed');
});

test('container mode: the runtime gets the workspace read-only, no capabilities, the network only for engines that need it', async (t) => {
  const s = setup(t, 'engine_mode = container\ncontainer_runtime = docker\nengine.gitleaks.image = registry.local/gitleaks:8');
  const bin = join(s.root, 'runtime-bin');
  mkdirSync(bin);
  const calls = join(s.root, 'docker-calls');
  // A stand-in `docker`: records its arguments, then prints the report of the engine named by the image.
  fakeEngine(
    bin,
    'docker',
    `printf '%s\\n' "$*" >> '${calls}'\ncase "$*" in *gitleaks*) cat '${FIXTURES_DIR}gitleaks/gitleaks-dir-mode-findings.json';; *) cat '${FIXTURES_DIR}semgrep/semgrep-1.30.0-five-findings.json';; esac`,
  );
  const env = { ...s.env, PATH: `${bin}:${process.env.PATH}`, ENGINE_SEMGREP_IMAGE: 'registry.local/semgrep:1' };
  const r = await runner(['--engine', 'semgrep', '--engine', 'gitleaks', '--source', 'path', '--path', s.src], env);
  assert.equal(r.code, 0, JSON.stringify(r.report));
  assert.deepEqual([r.report.engines.semgrep!.findings, r.report.engines.gitleaks!.findings], [5, 3]);
  const lines = readFileSync(calls, 'utf8').trim().split('\n').sort();
  const ws = r.report.source!.replace(/^path /, '');
  const common = `run --rm --pull=missing --network %NET% --cap-drop ALL --security-opt no-new-privileges --read-only --tmpfs /tmp --env HOME=/tmp --volume ${ws}:/src:ro --workdir /src`;
  assert.deepEqual(lines, [
    `${common.replace('%NET%', 'bridge')} registry.local/semgrep:1 scan --json --quiet --metrics=off --config auto /src`,
    `${common.replace('%NET%', 'none')} registry.local/gitleaks:8 detect --no-git --no-banner --source /src --report-format json --report-path /dev/stdout --exit-code 0`,
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobArgsError, parseJobArgs } from './job-args.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseScanConfig, ScanConfigError } from './scan-config.js';
import { enginesFor, imageFor, ENGINES, ENGINE_NAMES } from './engines.js';

const KNOWN = ['semgrep', 'trivy', 'trufflehog'];

test('job args: the three sources', () => {
  assert.deepEqual(parseJobArgs(['--engine', 'semgrep', '--engine', 'trivy', '--engine', 'semgrep', '--source', 'git', '--url', 'https://git.example/app.git', '--ref', 'release/1.2'], KNOWN), {
    engines: ['semgrep', 'trivy'],
    source: { kind: 'git', url: 'https://git.example/app.git', ref: 'release/1.2' },
  });
  assert.deepEqual(parseJobArgs(['--source', 'git', '--url', 'git@git.example:team/app.git', '--engine', 'trivy'], KNOWN).source, { kind: 'git', url: 'git@git.example:team/app.git' });
  assert.deepEqual(parseJobArgs(['--engine', 'trivy', '--source', 'archive', '--url', 'https://dl.example/app.tar.gz'], KNOWN).source, { kind: 'archive', url: 'https://dl.example/app.tar.gz' });
  assert.deepEqual(parseJobArgs(['--engine', 'trivy', '--source', 'path', '--path', '/srv/app'], KNOWN).source, { kind: 'path', path: '/srv/app' });
});

test('job args: hostile and malformed requests are refused before anything runs', () => {
  const refused: Array<[string[], RegExp]> = [
    [[], /at least one --engine/],
    [['--engine', 'semgrep'], /--source git\|archive\|path is required/],
    [['--engine', 'nmap', '--source', 'path', '--path', '/srv'], /unknown engine 'nmap'/],
    [['--engine', '../semgrep', '--source', 'path', '--path', '/srv'], /unknown engine/],
    [['--engine'], /--engine needs a value/],
    [['--config', '/tmp/evil.conf', '--engine', 'semgrep'], /unexpected argument '--config'/],
    [['--engine', 'semgrep', '--source', 'git', '--url', 'file:///etc'], /--source git needs --url/],
    [['--engine', 'semgrep', '--source', 'git', '--url', '/srv/repo'], /--source git needs --url/],
    [['--engine', 'semgrep', '--source', 'git', '--url', 'ext::sh -c id'], /--source git needs --url/],
    [['--engine', 'semgrep', '--source', 'git', '--url', '--upload-pack=touch /tmp/x'], /--source git needs --url/],
    [['--engine', 'semgrep', '--source', 'git', '--url', 'http://plain.example/x.git'], /--source git needs --url/],
    [['--engine', 'semgrep', '--source', 'git', '--url', 'https://g.example/x', '--ref', '--upload-pack=x'], /invalid --ref/],
    [['--engine', 'semgrep', '--source', 'git', '--url', 'https://g.example/x', '--ref', 'a/../../b'], /invalid --ref/],
    [['--engine', 'semgrep', '--source', 'git', '--url', 'https://g.example/x', '--ref', 'main; rm -rf /'], /invalid --ref/],
    [['--engine', 'semgrep', '--source', 'archive', '--url', 'http://dl.example/a.tgz'], /needs an https:\/\/ --url/],
    [['--engine', 'semgrep', '--source', 'archive', '--url', 'https://dl.example/a.tgz', '--path', '/x'], /do not apply/],
    [['--engine', 'semgrep', '--source', 'path', '--path', 'relative/dir'], /absolute --path/],
    [['--engine', 'semgrep', '--source', 'path', '--path', '/srv', '--url', 'https://x'], /do not apply/],
    [['--engine', 'semgrep', '--source', 'ftp', '--url', 'ftp://x'], /unknown source 'ftp'/],
  ];
  for (const [argv, message] of refused) {
    assert.throws(() => parseJobArgs(argv, KNOWN), (err: unknown) => err instanceof JobArgsError && message.test(err.message), argv.join(' '));
  }
});

test('scan.conf: values, defaults and errors naming file and line', () => {
  const c = parseScanConfig(
    '# scan.conf\nwork_dir = /var/lib/scans\nscan_roots = /srv, /opt/src\nengine_mode = container\ncontainer_runtime = podman\nscan_timeout = 600  # ten minutes\nmax_archive_bytes = 64M\nengine.semgrep.command = /opt/semgrep/bin/semgrep\nengine.trivy.image = registry.local/trivy:0.58\n',
    'scan.conf',
  );
  assert.deepEqual(
    [c.workDir, c.scanRoots, c.engineMode, c.containerRuntime, c.scanTimeoutMs, c.downloadTimeoutMs, c.maxArchiveBytes, c.engines],
    ['/var/lib/scans', ['/srv', '/opt/src'], 'container', 'podman', 600_000, 300_000, 64 * 1024 * 1024, { semgrep: { command: '/opt/semgrep/bin/semgrep' }, trivy: { image: 'registry.local/trivy:0.58' } }],
  );
  const bad: Array<[string, string]> = [
    ['work_dir = relative', 'scan.conf:1: work_dir: must be an absolute path'],
    ['\nengine_mode = vm', "scan.conf:2: engine_mode: local or container"],
    ['scan_timeout = 0', 'scan.conf:1: scan_timeout: seconds between 1 and 86400'],
    ['max_archive_bytes = lots', 'scan.conf:1: max_archive_bytes: a size such as 512M'],
    ['engine.semgrep.command = semgrep', 'scan.conf:1: engine.semgrep.command: must be an absolute path'],
    ['colour = blue', "scan.conf:1: unknown key 'colour'"],
    ['just words', "scan.conf:1: expected key = value, got 'just words'"],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseScanConfig(text, 'scan.conf'), (err: unknown) => err instanceof ScanConfigError && err.message === message, text);
  }
});

test('etc/scan.conf.example parses', () => {
  const path = fileURLToPath(new URL('../../../../etc/scan.conf.example', import.meta.url));
  const c = parseScanConfig(readFileSync(path, 'utf8'), path);
  assert.deepEqual([c.workDir, c.engineMode, c.scanRoots], ['/var/lib/ctrl-exec-agent/scans', 'local', []]);
});

test('engines: every name has its spec, defaults per scan type, image precedence', () => {
  assert.deepEqual(Object.keys(ENGINES).sort(), [...ENGINE_NAMES].sort());
  for (const [name, spec] of Object.entries(ENGINES)) assert.equal(spec.parser.engine, name);
  assert.deepEqual(enginesFor(['sast', 'sca', 'secrets', 'licence']), ['semgrep', 'trivy', 'trufflehog', 'scancode']);
  assert.deepEqual(enginesFor(['sca', 'misconfig'], ['grype']), ['grype', 'trivy']);
  const trivy = ENGINES.trivy!;
  assert.equal(imageFor(trivy, 'from-conf:1', { ENGINE_IMAGE_MAP: '{"trivy":"from-map:1"}', ENGINE_TRIVY_IMAGE: 'from-env:1' }), 'from-conf:1');
  assert.equal(imageFor(trivy, undefined, { ENGINE_IMAGE_MAP: '{"trivy":"from-map:1"}', ENGINE_TRIVY_IMAGE: 'from-env:1' }), 'from-map:1');
  assert.equal(imageFor(trivy, undefined, { ENGINE_IMAGE_MAP: 'not json', ENGINE_TRIVY_IMAGE: 'from-env:1' }), 'from-env:1');
  assert.equal(imageFor(trivy, undefined, {}), trivy.image);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finding, type FindingInput } from './finding.js';
import { mergeFindings, severityCounts } from './merge.js';
import { FINGERPRINT_KEY, SARIF_SCHEMA_URI, toSarif } from './sarif-export.js';
import { sarifSchemaErrors } from './testing/sarif-schema.js';

const SAST: FindingInput = {
  engine: 'semgrep',
  type: 'sast',
  ruleId: 'python.lang.security.audit.eval-detected',
  title: 'Detected the use of eval()',
  description: 'eval() on user input runs arbitrary code',
  severity: 'high',
  location: { path: './app/views.py', startLine: 12, endLine: 12, startColumn: 5, endColumn: 20 },
  cwe: ['CWE-95'],
  references: ['https://owasp.org/Top10/A03_2021-Injection'],
};
const VULN = (engine: string, severity: FindingInput['severity']): FindingInput => ({
  engine,
  type: 'sca',
  ruleId: 'CVE-2022-40897',
  title: 'setuptools: ReDoS in package_index.py',
  severity,
  location: { path: engine === 'grype' ? '/requirements.txt' : 'requirements.txt' },
  package: { name: 'setuptools', version: '65.5.0', fixedVersion: '65.5.1', ecosystem: 'pip' },
  references: [`https://example.test/${engine}`],
});
const SECRET: FindingInput = {
  engine: 'gitleaks',
  type: 'secrets',
  ruleId: 'generic-api-key',
  title: 'Generic API Key',
  severity: 'high',
  location: { path: 'config/settings.py', startLine: 3 },
  secret: { redacted: '[40 chars, sha256:0011aabb]' },
};
const LICENCE: FindingInput = {
  engine: 'scancode',
  type: 'licence',
  ruleId: 'GPL-2.0-only',
  title: 'GPL-2.0-only in vendor/lib.c',
  severity: 'info',
  licence: 'GPL-2.0-only',
  location: { path: 'vendor/lib.c', startLine: 1, endLine: 14 },
};

test('finding(): normalised path, no empty fields, stable 32-hex fingerprint', () => {
  const f = finding({ ...SAST, cwe: [], references: undefined });
  assert.equal(f.location!.path, 'app/views.py');
  assert.equal('cwe' in f, false);
  assert.equal('references' in f, false);
  assert.match(f.fingerprint, /^[0-9a-f]{32}$/);
  assert.equal(finding({ ...SAST, title: 'reworded', severity: 'low' }).fingerprint, f.fingerprint, 'wording and rating do not change identity');
  assert.notEqual(finding({ ...SAST, location: { ...SAST.location!, startLine: 13 } }).fingerprint, f.fingerprint);
});

test('mergeFindings: one entry per fingerprint across engines, highest severity kept, sorted by severity', () => {
  const merged = mergeFindings([VULN('trivy', 'medium'), VULN('grype', 'high'), LICENCE, SAST, SECRET, SAST].map(finding));
  assert.equal(merged.length, 4);
  const vuln = merged.find((m) => m.type === 'sca')!;
  assert.deepEqual([vuln.engines, vuln.occurrences, vuln.severity], [['grype', 'trivy'], 2, 'high']);
  assert.deepEqual(vuln.references, ['https://example.test/trivy', 'https://example.test/grype']);
  const sast = merged.find((m) => m.type === 'sast')!;
  assert.deepEqual([sast.engines, sast.occurrences], [['semgrep'], 2]);
  assert.deepEqual(merged.map((m) => m.severity), ['high', 'high', 'high', 'info']);
  assert.deepEqual(severityCounts(merged), { critical: 0, high: 3, medium: 0, low: 0, info: 1 });
});

test('toSarif: a valid SARIF 2.1.0 log, one run per engine, rules, levels, fingerprints', () => {
  const findings = [SAST, VULN('trivy', 'critical'), VULN('trivy', 'low'), SECRET, LICENCE].map(finding);
  findings[2]!.location = { path: 'sub dir/requirements.txt' };
  const log = toSarif(findings, { automationId: 'scan/0123456789abcdef' });
  assert.equal(sarifSchemaErrors(log), undefined);
  assert.equal(log.$schema, SARIF_SCHEMA_URI);
  assert.deepEqual(log.runs.map((r) => r.tool.driver.name), ['gitleaks', 'scancode', 'semgrep', 'trivy']);
  const trivy = log.runs[3]!;
  assert.equal(trivy.tool.driver.rules!.length, 1, 'one rule for two results of the same id');
  assert.equal(trivy.tool.driver.rules![0]!.properties!['security-severity'], '9.5', 'the rule takes its worst result');
  assert.deepEqual(trivy.results!.map((r) => [r.level, r.ruleIndex]), [['error', 0], ['note', 0]]);
  assert.equal(trivy.results![1]!.locations![0]!.physicalLocation!.artifactLocation!.uri, 'sub%20dir/requirements.txt');
  assert.equal(trivy.automationDetails!.id, 'scan/0123456789abcdef');
  const semgrep = log.runs[2]!;
  assert.deepEqual(semgrep.results![0]!.locations![0]!.physicalLocation!.region, { startLine: 12, endLine: 12, startColumn: 5, endColumn: 20 });
  assert.deepEqual(semgrep.tool.driver.rules![0]!.properties!.tags, ['sast', 'CWE-95']);
  assert.equal(semgrep.results![0]!.partialFingerprints![FINGERPRINT_KEY], findings[0]!.fingerprint);
  assert.equal(log.runs[1]!.results![0]!.level, 'note', 'licence detections are notes');
});

test('toSarif of merged findings lists every engine; an empty list is a valid log with no runs', () => {
  const merged = mergeFindings([VULN('trivy', 'medium'), VULN('grype', 'high')].map(finding));
  const log = toSarif(merged);
  assert.equal(sarifSchemaErrors(log), undefined);
  assert.deepEqual(log.runs.map((r) => r.tool.driver.name), ['grype']);
  assert.deepEqual(log.runs[0]!.results![0]!.properties!.engines, ['grype', 'trivy']);
  const empty = toSarif([]);
  assert.equal(sarifSchemaErrors(empty), undefined);
  assert.deepEqual(empty.runs, []);
});

test('the schema check itself rejects a broken log', () => {
  assert.notEqual(sarifSchemaErrors({ version: '2.1.0', runs: [{ tool: {} }] }), undefined);
  assert.notEqual(sarifSchemaErrors({ version: '3', runs: [] }), undefined);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finding, sanitiseFinding, type FindingInput } from './finding.js';

const FULL: FindingInput = {
  engine: 'trivy',
  type: 'sca',
  ruleId: 'CVE-2022-40897',
  title: 'setuptools: ReDoS',
  description: 'long text',
  severity: 'high',
  location: { path: 'requirements.txt', startLine: 3, endLine: 3 },
  package: { name: 'setuptools', version: '65.5.0', fixedVersion: '65.5.1', purl: 'pkg:pypi/setuptools@65.5.0', ecosystem: 'pip' },
  cwe: ['CWE-1333'],
  references: ['https://avd.aquasec.com/nvd/cve-2022-40897'],
};

test('sanitiseFinding keeps a well-formed finding as it is', () => {
  const f = finding(FULL);
  assert.deepEqual(sanitiseFinding(JSON.parse(JSON.stringify(f))), f);
  const secret = finding({ engine: 'gitleaks', type: 'secrets', ruleId: 'aws', title: 'AWS key', severity: 'high', secret: { redacted: '[20 chars, sha256:00aa11bb]', verified: false } });
  assert.deepEqual(sanitiseFinding(JSON.parse(JSON.stringify(secret))), secret);
});

test('sanitiseFinding: hostile or malformed input is dropped or cut down, the fingerprint is recomputed', () => {
  const base = JSON.parse(JSON.stringify(finding(FULL))) as Record<string, unknown>;
  for (const bad of [null, 'x', [], {}, { ...base, severity: 'apocalyptic' }, { ...base, type: 'dast' }, { ...base, ruleId: 42 }, { ...base, title: '' }, { ...base, engine: undefined }]) {
    assert.equal(sanitiseFinding(bad), undefined, JSON.stringify(bad)?.slice(0, 80));
  }
  const forged = sanitiseFinding({ ...base, fingerprint: 'f'.repeat(32), extra: { __proto__: { polluted: true } }, location: { path: 7, startLine: -1 }, package: { name: ['x'] }, cwe: ['CWE-79', 5], secret: { redacted: 'r'.repeat(500) } })!;
  assert.notEqual(forged.fingerprint, 'f'.repeat(32));
  assert.equal(forged.fingerprint, finding({ ...FULL, location: undefined, package: undefined, cwe: ['CWE-79'], secret: { redacted: 'r'.repeat(100) } }).fingerprint);
  assert.equal('extra' in forged, false);
  assert.equal(forged.location, undefined);
  assert.equal(forged.package, undefined);
  assert.deepEqual(forged.cwe, ['CWE-79']);
  assert.equal(forged.secret!.redacted.length, 100);
  const long = sanitiseFinding({ ...base, title: 't'.repeat(10_000) })!;
  assert.equal(long.title.length, 4000);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../finding.js';
import { fixture } from '../testing/fixtures.js';
import { grypeParser } from './grype.js';
import { ScanParseError } from './types.js';

const NO_MATCHES = 'grype-0.7.0-image-no-matches.json';
const DIRECTORY = 'grype-0.24.0-directory-nine-matches.json';
const IMAGE_EPSS = 'grype-0.94.0-image-epss.json';

function parseFixture(file: string): Finding[] {
  return grypeParser.parse(fixture('grype', file));
}

function withoutFingerprint(f: Finding): Omit<Finding, 'fingerprint'> {
  const { fingerprint: _fingerprint, ...rest } = f;
  return rest;
}

function byRuleId(findings: Finding[], id: string): Finding {
  const f = findings.find((x) => x.ruleId === id);
  assert.ok(f, `no finding ${id}`);
  return f;
}

function severityCounts(findings: Finding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  return counts;
}

function assertFingerprints(findings: Finding[]): void {
  for (const f of findings) assert.match(f.fingerprint, /^[0-9a-f]{32}$/);
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, findings.length, 'fingerprints are not distinct');
}

/** A minimal grype document around the given matches. */
function doc(matches: unknown[]): string {
  return JSON.stringify({ matches, source: { type: 'directory', target: '.' }, descriptor: { name: 'grype', version: '0.0.0' } });
}

function match(vulnerability: Record<string, unknown>, artifact: Record<string, unknown>, related: unknown[] = []): unknown {
  return { vulnerability, relatedVulnerabilities: related, matchDetails: [], artifact };
}

test('grype: engine name', () => {
  assert.equal(grypeParser.engine, 'grype');
});

test('grype 0.7.0: an image with no matches gives no findings', () => {
  assert.deepEqual(parseFixture(NO_MATCHES), []);
});

test('grype 0.24.0 directory scan: nine sca findings', () => {
  const findings = parseFixture(DIRECTORY);
  assert.equal(findings.length, 9);
  assert.deepEqual(
    findings.map((f) => f.ruleId),
    [
      'CVE-1999-1338',
      'CVE-2002-1647',
      'CVE-2005-0036',
      'CVE-2005-0861',
      'CVE-2007-2405',
      'CVE-2014-5509',
      'CVE-2021-29940',
      'CVE-2021-32626',
      'GHSA-8v27-2fg9-7h62',
    ],
  );
  for (const f of findings) {
    assert.equal(f.engine, 'grype');
    assert.equal(f.type, 'sca');
  }
  assert.deepEqual(severityCounts(findings), { medium: 5, high: 2, critical: 2 });
  // No fix is known for any of them, and these reports carry no CWE.
  assert.ok(findings.every((f) => f.package?.fixedVersion === undefined && f.cwe === undefined));
  assertFingerprints(findings);
});

test('grype 0.24.0: first match, all fields', () => {
  const [first] = parseFixture(DIRECTORY);
  assert.ok(first);
  assert.deepEqual(withoutFingerprint(first), {
    engine: 'grype',
    type: 'sca',
    ruleId: 'CVE-1999-1338',
    title: 'CVE-1999-1338 in delegate 3.2.0',
    description:
      'Delegate proxy 5.9.3 and earlier creates files and directories in the DGROOT with world-writable permissions.',
    severity: 'medium',
    location: { path: 'components/yarn.lock' },
    package: { name: 'delegate', version: '3.2.0', purl: 'pkg:npm/delegate@3.2.0', ecosystem: 'npm' },
    references: [
      'https://nvd.nist.gov/vuln/detail/CVE-1999-1338',
      'http://marc.info/?l=bugtraq&m=93259112204664&w=2',
    ],
  });
});

test('grype 0.24.0: a python package and a GHSA with a related CVE', () => {
  const findings = parseFixture(DIRECTORY);
  const redis = byRuleId(findings, 'CVE-2021-32626');
  assert.equal(redis.title, 'CVE-2021-32626 in redis 3.5.3');
  assert.equal(redis.severity, 'high');
  assert.deepEqual(redis.location, { path: 'requirements.txt' });
  assert.deepEqual(redis.package, { name: 'redis', version: '3.5.3', purl: 'pkg:pypi/redis@3.5.3', ecosystem: 'python' });
  assert.deepEqual(redis.references, [
    'https://nvd.nist.gov/vuln/detail/CVE-2021-32626',
    'https://github.com/redis/redis/commit/666ed7facf4524bf6d19b11b20faa2cf93fdf591',
    'https://github.com/redis/redis/security/advisories/GHSA-p486-xggp-782c',
    'https://lists.fedoraproject.org/archives/list/package-announce@lists.fedoraproject.org/message/VL5KXFN3ATM7IIM7Q4O4PWTSRGZ5744Z/',
    'https://lists.fedoraproject.org/archives/list/package-announce@lists.fedoraproject.org/message/HTYQ5ZF37HNGTZWVNJD3VXP7I6MEEF42/',
    'https://lists.apache.org/thread.html/r75490c61c2cb7b6ae2c81238fd52ae13636c60435abcd732d41531a0@%3Ccommits.druid.apache.org%3E',
  ]);

  const ghsa = byRuleId(findings, 'GHSA-8v27-2fg9-7h62');
  assert.deepEqual(withoutFingerprint(ghsa), {
    engine: 'grype',
    type: 'sca',
    ruleId: 'GHSA-8v27-2fg9-7h62',
    title: 'GHSA-8v27-2fg9-7h62 in static-eval 2.1.0',
    // The vulnerability's own description wins over the related CVE's.
    description: 'Withdrawn: Arbitrary Code Execution in static-eval',
    severity: 'critical',
    location: { path: 'components/yarn.lock' },
    package: { name: 'static-eval', version: '2.1.0', purl: 'pkg:npm/static-eval@2.1.0', ecosystem: 'npm' },
    // dataSource equals the only URL: listed once.
    references: ['https://github.com/advisories/GHSA-8v27-2fg9-7h62'],
  });
});

test('grype 0.24.0: the same package in several matches keeps distinct fingerprints', () => {
  const delegate = parseFixture(DIRECTORY).filter((f) => f.package?.name === 'delegate');
  assert.deepEqual(
    delegate.map((f) => f.ruleId),
    ['CVE-1999-1338', 'CVE-2005-0036', 'CVE-2005-0861'],
  );
  assertFingerprints(delegate);
});

test('grype 0.94.0 image scan with EPSS: fifteen findings', () => {
  const findings = parseFixture(IMAGE_EPSS);
  assert.equal(findings.length, 15);
  assert.deepEqual(severityCounts(findings), { critical: 1, high: 10, medium: 2, low: 2 });
  for (const f of findings) {
    assert.equal(f.type, 'sca');
    // Image paths are absolute (`/bin/[`); the finding's path is normalised.
    assert.deepEqual(f.location, { path: 'bin/[' });
    assert.equal(f.package?.name, 'busybox');
    assert.equal(f.package?.version, '1.32.1');
    assert.equal(f.package?.ecosystem, 'binary');
    assert.equal(f.package?.purl, 'pkg:generic/busybox@1.32.1');
    assert.ok(f.description, `${f.ruleId} has no description`);
    assert.equal(f.references?.[0], `https://nvd.nist.gov/vuln/detail/${f.ruleId}`);
    assert.equal(new Set(f.references).size, f.references?.length, `${f.ruleId} has duplicate references`);
  }
  assertFingerprints(findings);
});

test('grype 0.94.0: fix version and deduplicated references', () => {
  const findings = parseFixture(IMAGE_EPSS);
  const fixed = findings.filter((f) => f.package?.fixedVersion !== undefined);
  assert.deepEqual(
    fixed.map((f) => f.ruleId),
    ['CVE-2021-42376'],
  );
  const [f] = fixed;
  assert.ok(f);
  assert.deepEqual(withoutFingerprint(f), {
    engine: 'grype',
    type: 'sca',
    ruleId: 'CVE-2021-42376',
    title: 'CVE-2021-42376 in busybox 1.32.1',
    description:
      "A NULL pointer dereference in Busybox's hush applet leads to denial of service when processing a crafted shell command, due to missing validation after a \\x03 delimiter character. This may be used for DoS under very rare conditions of filtered command input.",
    severity: 'medium',
    location: { path: 'bin/[' },
    package: {
      name: 'busybox',
      version: '1.32.1',
      fixedVersion: '1.34.0',
      purl: 'pkg:generic/busybox@1.32.1',
      ecosystem: 'binary',
    },
    // The report lists each of these five URLs twice.
    references: [
      'https://nvd.nist.gov/vuln/detail/CVE-2021-42376',
      'https://claroty.com/team82/research/unboxing-busybox-14-vulnerabilities-uncovered-by-claroty-jfrog',
      'https://jfrog.com/blog/unboxing-busybox-14-new-vulnerabilities-uncovered-by-claroty-and-jfrog/',
      'https://lists.fedoraproject.org/archives/list/package-announce%40lists.fedoraproject.org/message/6T2TURBYYJGBMQTTN2DSOAIQGP7WCPGV/',
      'https://lists.fedoraproject.org/archives/list/package-announce%40lists.fedoraproject.org/message/UQXGOGWBIYWOIVXJVRKHZR34UMEHQBXS/',
      'https://security.netapp.com/advisory/ntap-20211223-0002/',
    ],
  });
  const low = byRuleId(findings, 'CVE-2025-46394');
  assert.equal(low.severity, 'low');
  assert.equal(low.title, 'CVE-2025-46394 in busybox 1.32.1');
  assert.equal(low.references?.length, 6);
});

test('grype: fingerprints are stable across parses', () => {
  const a = parseFixture(IMAGE_EPSS).map((f) => f.fingerprint);
  const b = parseFixture(IMAGE_EPSS).map((f) => f.fingerprint);
  assert.deepEqual(a, b);
});

test('grype: CWEs from vulnerability, related vulnerabilities and KEV entries', () => {
  const [f] = grypeParser.parse(
    doc([
      match(
        {
          id: 'GHSA-aaaa-bbbb-cccc',
          dataSource: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc',
          severity: 'High',
          urls: [],
          cwes: [
            { cve: 'CVE-2024-0001', cwe: 'CWE-79', source: 'nvd@nist.gov', type: 'Primary' },
            { cve: 'CVE-2024-0001', cwe: 'NVD-CWE-noinfo', source: 'nvd@nist.gov', type: 'Secondary' },
          ],
          knownExploited: [{ cve: 'CVE-2024-0001', knownRansomwareCampaignUse: 'Unknown', cwes: ['CWE-94', 'CWE-79'] }],
          fix: { versions: ['1.2.3', '2.0.1'], state: 'fixed' },
          advisories: [],
        },
        { name: 'lodash', version: '4.17.20', type: 'npm', locations: [{ path: './package-lock.json' }] },
        [{ id: 'CVE-2024-0001', dataSource: 'https://nvd.nist.gov/vuln/detail/CVE-2024-0001', cwes: [{ cve: 'CVE-2024-0001', cwe: 'CWE-20' }] }],
      ),
    ]),
  );
  assert.ok(f);
  assert.deepEqual(f.cwe, ['CWE-79', 'CWE-94', 'CWE-20']);
  assert.equal(f.package?.fixedVersion, '1.2.3, 2.0.1');
  assert.deepEqual(f.location, { path: 'package-lock.json' });
  assert.deepEqual(f.references, ['https://github.com/advisories/GHSA-aaaa-bbbb-cccc']);
});

test('grype: Negligible and Unknown severities are info', () => {
  const findings = grypeParser.parse(
    doc([
      match({ id: 'CVE-2020-0001', severity: 'Negligible' }, { name: 'libc6', version: '2.31', type: 'deb' }),
      match({ id: 'CVE-2020-0002', severity: 'Unknown' }, { name: 'libc6', version: '2.31', type: 'deb' }),
      match({ id: 'CVE-2020-0003' }, { name: 'libc6', version: '2.31', type: 'deb' }),
    ]),
  );
  assert.deepEqual(
    findings.map((f) => f.severity),
    ['info', 'info', 'info'],
  );
  assertFingerprints(findings);
});

test('grype: description falls back to a related vulnerability; minimal match', () => {
  const [f] = grypeParser.parse(
    doc([
      match({ id: 'GHSA-xxxx-yyyy-zzzz', severity: 'Moderate', urls: ['https://a.example/1', 'https://a.example/1'] }, { name: 'left-pad' }, [
        { id: 'CVE-2024-0002', description: '' },
        { id: 'CVE-2024-0003', description: 'Related text.' },
      ]),
    ]),
  );
  assert.ok(f);
  assert.deepEqual(withoutFingerprint(f), {
    engine: 'grype',
    type: 'sca',
    ruleId: 'GHSA-xxxx-yyyy-zzzz',
    title: 'GHSA-xxxx-yyyy-zzzz in left-pad',
    description: 'Related text.',
    severity: 'medium',
    package: { name: 'left-pad' },
    references: ['https://a.example/1'],
  });
});

test('grype: malformed output is a ScanParseError naming grype', () => {
  const cases: [string, string][] = [
    ['empty text', ''],
    ['blank text', '  \n'],
    ['not JSON', 'grype: command not found'],
    ['truncated JSON', fixture('grype', DIRECTORY).slice(0, 500)],
    ['an array', '[]'],
    ['an empty object', '{}'],
    ['null', 'null'],
    ['matches not an array', '{"matches": {}}'],
    ['a match that is not an object', '{"matches": [1]}'],
    ['a match without vulnerability', doc([{ artifact: { name: 'x' } }])],
    ['a match without vulnerability id', doc([match({ severity: 'High' }, { name: 'x' })])],
    ['a match without artifact', doc([{ vulnerability: { id: 'CVE-1' } }])],
    ['a match without artifact name', doc([match({ id: 'CVE-1' }, { version: '1' })])],
  ];
  for (const [name, text] of cases) {
    assert.throws(
      () => grypeParser.parse(text),
      (err: unknown) => err instanceof ScanParseError && err.engine === 'grype' && /grype/.test(err.message),
      name,
    );
  }
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecret } from '../finding.js';
import type { Finding, ScanType } from '../finding.js';
import { fixture } from '../testing/fixtures.js';
import { trivyParser } from './trivy.js';
import { ScanParseError } from './types.js';

const FIXTURES = {
  noVulns: 'trivy-image-alpine-no-vulns.json',
  osAndJar: 'trivy-image-alpine-os-and-jar-vulns.json',
  fsMixed: 'trivy-fs-vulns-misconfig-secrets.json',
  licenses: 'trivy-image-licenses.json',
  cvssv4: 'trivy-0.69.1-fs-jar-cvssv4.json',
} as const;

function parseFixture(file: string): Finding[] {
  return trivyParser.parse(fixture('trivy', file));
}

function parseDoc(doc: unknown): Finding[] {
  return trivyParser.parse(JSON.stringify(doc));
}

function countByType(findings: Finding[]): Record<ScanType, number> {
  const counts: Record<ScanType, number> = { sast: 0, sca: 0, secrets: 0, licence: 0, misconfig: 0 };
  for (const f of findings) counts[f.type] += 1;
  return counts;
}

/** The one finding with this rule id (and path, when given). */
function one(findings: Finding[], ruleId: string, path?: string): Finding {
  const hits = findings.filter((f) => f.ruleId === ruleId && (path === undefined || f.location?.path === path));
  assert.equal(hits.length, 1, `expected one finding ${ruleId} ${path ?? ''}, got ${hits.length}`);
  return hits[0] as Finding;
}

function withoutFingerprint(f: Finding): Omit<Finding, 'fingerprint'> {
  const { fingerprint: _fingerprint, ...rest } = f;
  return rest;
}

function assertFingerprints(findings: Finding[]): void {
  for (const f of findings) assert.match(f.fingerprint, /^[0-9a-f]{32}$/, `${f.ruleId} fingerprint`);
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, findings.length, 'fingerprints are distinct');
}

function assertParseError(text: string, reason?: RegExp): void {
  assert.throws(
    () => trivyParser.parse(text),
    (err: unknown) => {
      assert.ok(err instanceof ScanParseError, `expected ScanParseError, got ${String(err)}`);
      assert.equal(err.engine, 'trivy');
      assert.match(err.message, /^cannot read trivy output: /);
      if (reason) assert.match(err.message, reason);
      return true;
    },
  );
}

describe('trivyParser', () => {
  it('is the trivy engine', () => {
    assert.equal(trivyParser.engine, 'trivy');
  });

  describe('fixture counts', () => {
    const expected: Record<keyof typeof FIXTURES, Record<ScanType, number>> = {
      noVulns: { sast: 0, sca: 0, secrets: 0, licence: 0, misconfig: 0 },
      osAndJar: { sast: 0, sca: 5, secrets: 0, licence: 0, misconfig: 0 },
      fsMixed: { sast: 0, sca: 2, secrets: 2, licence: 0, misconfig: 1 },
      licenses: { sast: 0, sca: 0, secrets: 0, licence: 19, misconfig: 0 },
      cvssv4: { sast: 0, sca: 3, secrets: 0, licence: 0, misconfig: 0 },
    };
    for (const [key, file] of Object.entries(FIXTURES) as [keyof typeof FIXTURES, string][]) {
      it(`${file}: findings per type`, () => {
        const findings = parseFixture(file);
        assert.deepEqual(countByType(findings), expected[key]);
        for (const f of findings) assert.equal(f.engine, 'trivy');
      });
      it(`${file}: 32-hex, distinct fingerprints`, () => {
        assertFingerprints(parseFixture(file));
      });
    }
  });

  describe('vulnerabilities (sca)', () => {
    it('maps an alpine OS package vulnerability', () => {
      const f = one(parseFixture(FIXTURES.osAndJar), 'CVE-2019-12900');
      assert.equal(f.type, 'sca');
      assert.equal(f.title, 'bzip2: out-of-bounds write in function BZ2_decompress');
      assert.equal(
        f.description,
        'BZ2_decompress in decompress.c in bzip2 through 1.0.6 has an out-of-bounds write when there are many selectors.',
      );
      assert.equal(f.severity, 'critical');
      assert.deepEqual(f.package, { name: 'libbz2', version: '1.0.6-r6', fixedVersion: '1.0.6-r7', ecosystem: 'alpine' });
      assert.deepEqual(f.location, { path: 'app/libs/libbz2-1.0.6-r6' });
      assert.deepEqual(f.cwe, ['CWE-787']);
      assert.equal(f.references?.[0], 'https://avd.aquasec.com/nvd/cve-2019-12900');
      assert.equal(f.references?.length, 30);
      assert.equal(f.references?.[1], 'http://lists.opensuse.org/opensuse-security-announce/2019-07/msg00040.html');
      assert.equal(f.references?.[29], 'https://www.oracle.com/security-alerts/cpuoct2020.html');
    });

    it('maps a jar vulnerability completely', () => {
      const f = one(parseFixture(FIXTURES.osAndJar), 'CVE-2018-1324');
      assert.deepEqual(withoutFingerprint(f), {
        engine: 'trivy',
        type: 'sca',
        ruleId: 'CVE-2018-1324',
        title: 'apache-commons-compress: Infinite loop via extra field parser in ZipFile and ZipArchiveInputStream classes',
        description:
          "A specially crafted ZIP archive can be used to cause an infinite loop inside of Apache Commons Compress' extra field parser used by the ZipFile and ZipArchiveInputStream classes in versions 1.11 to 1.15. This can be used to mount a denial of service attack against services that use Compress' zip package.",
        severity: 'medium',
        location: { path: 'app/libs/commons-compress-1.14' },
        package: { name: 'org.apache.commons:commons-compress', version: '1.14', fixedVersion: '1.16', ecosystem: 'jar' },
        cwe: ['CWE-835'],
        references: [
          'https://avd.aquasec.com/nvd/cve-2018-1324',
          'http://www.securityfocus.com/bid/103490',
          'http://www.securitytracker.com/id/1040549',
          'https://commons.apache.org/proper/commons-compress/security-reports.html',
          'https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2018-1324',
          'https://github.com/advisories/GHSA-h436-432x-8fvx',
          'https://lists.apache.org/thread.html/1c7b6df6d1c5c8583518a0afa017782924918e4d6acfaf23ed5b2089@%3Cdev.commons.apache.org%3E',
          'https://lists.apache.org/thread.html/b8ef29df0f1d55aa741170748352ae8e425c7b1d286b2f257711a2dd@%3Cdev.creadur.apache.org%3E',
          'https://lists.apache.org/thread.html/ff8dcfe29377088ab655fda9d585dccd5b1f07fabd94ae84fd60a7f8@%3Ccommits.pulsar.apache.org%3E',
          'https://lists.apache.org/thread.html/r5532dc8d5456b5151e8c286801e2e5769f5c04118b29c3b5d13ea387@%3Cissues.beam.apache.org%3E',
          'https://nvd.nist.gov/vuln/detail/CVE-2018-1324',
        ],
      });
    });

    it('keeps one finding per vulnerability, in report order', () => {
      const ids = parseFixture(FIXTURES.osAndJar).map((f) => `${f.ruleId} ${f.package?.name ?? ''}`);
      assert.deepEqual(ids, [
        'CVE-2020-15999 freetype',
        'CVE-2020-28196 krb5-libs',
        'CVE-2019-12900 libbz2',
        'CVE-2018-11771 org.apache.commons:commons-compress',
        'CVE-2018-1324 org.apache.commons:commons-compress',
      ]);
    });

    it('uses the Target as path when there is no PkgPath (trivy fs, pip)', () => {
      const f = one(parseFixture(FIXTURES.fsMixed), 'CVE-2021-33503');
      assert.equal(f.title, 'python-urllib3: ReDoS in the parsing of authority part of URL');
      assert.equal(f.severity, 'high');
      assert.deepEqual(f.location, { path: 'requirements.txt' });
      assert.deepEqual(f.package, { name: 'urllib3', version: '1.26.3', fixedVersion: '1.26.5', ecosystem: 'pip' });
      assert.deepEqual(f.cwe, ['CWE-400']);
      assert.equal(f.references?.[0], 'https://avd.aquasec.com/nvd/cve-2021-33503');
      assert.equal(f.references?.length, 14);

      const medium = one(parseFixture(FIXTURES.fsMixed), 'CVE-2021-28363');
      assert.equal(medium.severity, 'medium');
      assert.deepEqual(medium.cwe, ['CWE-295']);
      assert.equal(medium.package?.fixedVersion, '1.26.4');
    });

    it('reads the purl and multi-branch fixed versions of the 0.69.1 layout', () => {
      const findings = parseFixture(FIXTURES.cvssv4);
      const f = one(findings, 'CVE-2025-66614');
      assert.equal(f.title, 'tomcat: Client certificate verification bypass due to virtual host mapping');
      assert.equal(f.severity, 'medium');
      assert.deepEqual(f.package, {
        name: 'org.apache.tomcat:tomcat-catalina',
        version: '9.0.109',
        fixedVersion: '11.0.14, 10.1.49, 9.0.112',
        purl: 'pkg:maven/org.apache.tomcat/tomcat-catalina@9.0.109',
        ecosystem: 'jar',
      });
      assert.deepEqual(f.location, { path: 'catalina.jar' });
      assert.deepEqual(f.cwe, ['CWE-20']);
      assert.ok(f.description?.startsWith('Improper Input Validation vulnerability.\n\nThis issue affects Apache Tomcat'));
      assert.equal(f.references?.[0], 'https://avd.aquasec.com/nvd/cve-2025-66614');
      assert.equal(f.references?.length, 15);

      assert.deepEqual(
        findings.map((x) => [x.ruleId, x.severity, x.package?.fixedVersion]),
        [
          ['CVE-2025-66614', 'medium', '11.0.14, 10.1.49, 9.0.112'],
          ['CVE-2025-61795', 'low', '11.0.12, 10.1.47, 9.0.110'],
          ['CVE-2026-24733', 'low', '11.0.14, 10.1.49, 9.0.112'],
        ],
      );
    });

    it('falls back to the id for the title, maps UNKNOWN to info, dedupes references and CWEs', () => {
      const findings = parseDoc({
        SchemaVersion: 2,
        Results: [
          {
            Target: 'package-lock.json',
            Class: 'lang-pkgs',
            Type: 'npm',
            Vulnerabilities: [
              {
                VulnerabilityID: 'GHSA-xxxx-yyyy-zzzz',
                PkgName: 'left-pad',
                InstalledVersion: '1.0.0',
                Severity: 'UNKNOWN',
                PrimaryURL: 'https://example.test/a',
                References: ['https://example.test/b', 'https://example.test/a', 'https://example.test/b'],
                CweIDs: ['CWE-79', '79', 'NVD-CWE-Other'],
              },
            ],
          },
        ],
      });
      assert.equal(findings.length, 1);
      assert.deepEqual(withoutFingerprint(findings[0] as Finding), {
        engine: 'trivy',
        type: 'sca',
        ruleId: 'GHSA-xxxx-yyyy-zzzz',
        title: 'GHSA-xxxx-yyyy-zzzz',
        severity: 'info',
        location: { path: 'package-lock.json' },
        package: { name: 'left-pad', version: '1.0.0', ecosystem: 'npm' },
        cwe: ['CWE-79'],
        references: ['https://example.test/a', 'https://example.test/b'],
      });
    });
  });

  describe('misconfigurations', () => {
    it('maps the Dockerfile DS002 failure', () => {
      const f = one(parseFixture(FIXTURES.fsMixed), 'DS002');
      assert.deepEqual(withoutFingerprint(f), {
        engine: 'trivy',
        type: 'misconfig',
        ruleId: 'DS002',
        title: "Image user should not be 'root'",
        description:
          "Running containers with 'root' user can lead to a container escape situation. It is a best practice to run containers as non-root users, which can be done by adding a 'USER' statement to the Dockerfile.\n\nResolution: Add 'USER <non root user name>' line to the Dockerfile",
        severity: 'high',
        location: { path: 'Dockerfile' },
        references: [
          'https://avd.aquasec.com/misconfig/ds002',
          'https://docs.docker.com/develop/develop-images/dockerfile_best-practices/',
        ],
      });
    });

    it('keeps only failures, reads cause lines and falls back to AVDID', () => {
      const findings = parseDoc({
        SchemaVersion: 2,
        Results: [
          {
            Target: 'main.tf',
            Class: 'config',
            Type: 'terraform',
            Misconfigurations: [
              { ID: 'AVD-AWS-0001', Title: 'passes', Severity: 'LOW', Status: 'PASS' },
              { ID: 'AVD-AWS-0002', Title: 'excepted', Severity: 'LOW', Status: 'EXCEPTION' },
              {
                AVDID: 'AVD-AWS-0088',
                Title: 'Unencrypted S3 bucket.',
                Description: 'S3 Buckets should be encrypted.',
                Severity: 'HIGH',
                Status: 'FAIL',
                CauseMetadata: { Resource: 'aws_s3_bucket.a', StartLine: 3, EndLine: 9 },
              },
              { ID: 'AVD-AWS-0003', Title: 'no status', Severity: 'MEDIUM' },
            ],
          },
        ],
      });
      assert.deepEqual(
        findings.map((f) => f.ruleId),
        ['AVD-AWS-0088', 'AVD-AWS-0003'],
      );
      assert.deepEqual(withoutFingerprint(findings[0] as Finding), {
        engine: 'trivy',
        type: 'misconfig',
        ruleId: 'AVD-AWS-0088',
        title: 'Unencrypted S3 bucket.',
        description: 'S3 Buckets should be encrypted.',
        severity: 'high',
        location: { path: 'main.tf', startLine: 3, endLine: 9 },
      });
      assertFingerprints(findings);
    });
  });

  describe('secrets', () => {
    it('maps both GitHub PAT findings with a redacted hint', () => {
      const findings = parseFixture(FIXTURES.fsMixed).filter((f) => f.type === 'secrets');
      assert.deepEqual(findings.map(withoutFingerprint), [
        {
          engine: 'trivy',
          type: 'secrets',
          ruleId: 'github-pat',
          title: 'GitHub Personal Access Token',
          severity: 'critical',
          location: { path: 'Dockerfile', startLine: 24, endLine: 24 },
          secret: { redacted: '[20 chars, sha256:8736301c]' },
        },
        {
          engine: 'trivy',
          type: 'secrets',
          ruleId: 'github-pat',
          title: 'GitHub Personal Access Token',
          severity: 'critical',
          location: { path: 'secret.txt', startLine: 1, endLine: 1 },
          secret: { redacted: redactSecret('GITHUB_PAT=*****') },
        },
      ]);
    });

    it('never serialises the fixture secret matches', () => {
      const text = fixture('trivy', FIXTURES.fsMixed);
      const doc = JSON.parse(text) as { Results: { Secrets?: { Match: string }[] }[] };
      const matches = doc.Results.flatMap((r) => r.Secrets ?? []).map((s) => s.Match);
      assert.deepEqual(matches, ['ENV GITHUB_PAT=*****', 'GITHUB_PAT=*****']);
      const serialised = JSON.stringify(trivyParser.parse(text));
      for (const m of matches) assert.ok(!serialised.includes(m), `serialised findings contain ${m}`);
      assert.ok(!serialised.includes('GITHUB_PAT'));
      assert.ok(!serialised.includes('*****'));
    });

    it('never serialises an unmasked secret from Match or Code lines', () => {
      const value = 'ghp_R4wS3cr3tV4lu3DoN0tL34k0123456789ab';
      const findings = parseDoc({
        SchemaVersion: 2,
        Results: [
          {
            Target: './config/.env',
            Class: 'secret',
            Secrets: [
              {
                RuleID: 'github-pat',
                Category: 'GitHub',
                Severity: 'CRITICAL',
                Title: 'GitHub Personal Access Token',
                StartLine: 2,
                EndLine: 2,
                Code: {
                  Lines: [
                    { Number: 1, Content: 'A=1', IsCause: false },
                    { Number: 2, Content: `TOKEN=${value}`, IsCause: true },
                  ],
                },
                Match: `TOKEN=${value}`,
              },
              {
                RuleID: 'github-pat',
                Severity: 'CRITICAL',
                Title: 'GitHub Personal Access Token',
                StartLine: 5,
                EndLine: 5,
                Code: { Lines: [{ Number: 5, Content: `export TOKEN=${value}`, IsCause: true }] },
              },
            ],
          },
        ],
      });
      assert.equal(findings.length, 2);
      const serialised = JSON.stringify(findings);
      assert.ok(!serialised.includes(value));
      assert.ok(!serialised.includes(value.slice(4, 20)));
      assert.deepEqual(findings[0]?.location, { path: 'config/.env', startLine: 2, endLine: 2 });
      assert.deepEqual(findings[0]?.secret, { redacted: redactSecret(`TOKEN=${value}`) });
      assert.deepEqual(findings[1]?.secret, { redacted: redactSecret(`export TOKEN=${value}`) });
      assertFingerprints(findings);
    });
  });

  describe('licences', () => {
    const findings = (): Finding[] => parseFixture(FIXTURES.licenses);
    const byPackage = (pkg: string): Finding[] => findings().filter((f) => f.package?.name === pkg);

    it('maps an OS package licence', () => {
      const hits = byPackage('alpine-baselayout');
      assert.equal(hits.length, 1);
      assert.deepEqual(withoutFingerprint(hits[0] as Finding), {
        engine: 'trivy',
        type: 'licence',
        ruleId: 'GPL-2.0',
        title: 'GPL-2.0 licence in alpine-baselayout',
        description: 'Trivy licence category restricted, confidence 1.',
        severity: 'high',
        location: { path: 'OS Packages' },
        package: { name: 'alpine-baselayout' },
        licence: 'GPL-2.0',
      });
    });

    it('keeps every licence of a multi-licence package, with its own severity', () => {
      assert.deepEqual(
        byPackage('musl-utils').map((f) => [f.licence, f.severity]),
        [
          ['MIT', 'low'],
          ['BSD-3-Clause', 'low'],
          ['GPL-2.0', 'high'],
        ],
      );
      assert.deepEqual(
        byPackage('ca-certificates-cacert').map((f) => [f.licence, f.severity]),
        [
          ['MPL-2.0', 'medium'],
          ['GPL-2.0', 'high'],
        ],
      );
    });

    it('maps a loose licence file to its path, without a package', () => {
      const f = one(findings(), 'OpenSSL', 'etc/ssl/misc/CA.pl');
      assert.deepEqual(withoutFingerprint(f), {
        engine: 'trivy',
        type: 'licence',
        ruleId: 'OpenSSL',
        title: 'OpenSSL licence in etc/ssl/misc/CA.pl',
        description: 'Trivy licence category notice, confidence 1.',
        severity: 'low',
        location: { path: 'etc/ssl/misc/CA.pl' },
        licence: 'OpenSSL',
        references: ['https://spdx.org/licenses/OpenSSL.html'],
      });
      assert.equal(one(findings(), 'OpenSSL', 'etc/ssl/misc/tsget.pl').package, undefined);
    });

    it('counts severities as the fixture rates them', () => {
      const counts: Record<string, number> = {};
      for (const f of findings()) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
      assert.deepEqual(counts, { high: 7, low: 11, medium: 1 });
    });
  });

  describe('empty reports', () => {
    it('has no findings when Results is absent, null or empty', () => {
      assert.deepEqual(parseDoc({ SchemaVersion: 2, ArtifactName: 'x', ArtifactType: 'filesystem' }), []);
      assert.deepEqual(parseDoc({ SchemaVersion: 2, Results: null }), []);
      assert.deepEqual(parseDoc({ Results: [] }), []);
      assert.deepEqual(parseDoc({ SchemaVersion: 2, Results: [{ Target: 'go.mod', Class: 'lang-pkgs', Type: 'gomod', Vulnerabilities: null }] }), []);
      assert.deepEqual(parseFixture(FIXTURES.noVulns), []);
    });
  });

  describe('malformed output', () => {
    it('rejects empty text', () => {
      assertParseError('', /empty/);
      assertParseError('  \n\t', /empty/);
    });

    it('rejects text that is not JSON', () => {
      assertParseError('Trivy version 0.50.0: no such command', /not JSON/);
      assertParseError('{"SchemaVersion": 2, "Results": [', /not JSON/);
    });

    it('rejects documents that are not a report object', () => {
      assertParseError('[]');
      assertParseError('null');
      assertParseError('42');
      assertParseError('"Results"');
      assertParseError('{}', /SchemaVersion or Results/);
      assertParseError('{"ArtifactName": "x"}', /SchemaVersion or Results/);
    });

    it('rejects an unsupported SchemaVersion', () => {
      assertParseError('{"SchemaVersion": 1, "Results": []}', /SchemaVersion/);
      assertParseError('{"SchemaVersion": "2", "Results": []}', /SchemaVersion/);
    });

    it('rejects Results that is not a list of objects', () => {
      assertParseError('{"Results": "x"}', /Results is not a list/);
      assertParseError('{"SchemaVersion": 2, "Results": {}}', /Results is not a list/);
      assertParseError('{"SchemaVersion": 2, "Results": [1]}', /Results\[0\] is not an object/);
      assertParseError('{"SchemaVersion": 2, "Results": [{"Class": "os-pkgs"}]}', /Target/);
    });

    it('rejects malformed finding lists and entries', () => {
      const doc = (result: Record<string, unknown>): string =>
        JSON.stringify({ SchemaVersion: 2, Results: [{ Target: 't', ...result }] });
      assertParseError(doc({ Vulnerabilities: 'x' }), /Vulnerabilities is not a list/);
      assertParseError(doc({ Secrets: [null] }), /Secrets\[0\] is not an object/);
      assertParseError(doc({ Vulnerabilities: [{ PkgName: 'a' }] }), /VulnerabilityID/);
      assertParseError(doc({ Vulnerabilities: [{ VulnerabilityID: 'CVE-1' }] }), /PkgName/);
      assertParseError(doc({ Misconfigurations: [{ Status: 'FAIL', Title: 't' }] }), /ID or AVDID/);
      assertParseError(doc({ Secrets: [{ Title: 't' }] }), /RuleID/);
      assertParseError(doc({ Licenses: [{ PkgName: 'p' }] }), /Name/);
    });
  });
});

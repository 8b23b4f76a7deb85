import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { Finding } from '../finding.js';
import { FIXTURES_DIR, fixture } from '../testing/fixtures.js';
import { sarifParser, sarifScanType, severityFromScore } from './sarif.js';
import { ScanParseError } from './types.js';

const SARIF_FILES = {
  bandit: 'bandit.sarif',
  checkov: 'checkov-2.1.277.sarif',
  eslint: 'eslint-8.25.0.sarif',
  flawfinderNone: 'flawfinder-2.0.20-no-results.sarif',
  flawfinder: 'flawfinder-2.0.20-four-results.sarif',
};
const SEMGREP_SARIF = 'semgrep-1.16.0-four-findings.sarif';

function parseFixture(file: string, dir = 'sarif'): Finding[] {
  return sarifParser.parse(fixture(dir, file));
}

function core(f: Finding | undefined) {
  assert.ok(f, 'finding exists');
  return { engine: f.engine, type: f.type, ruleId: f.ruleId, severity: f.severity, location: f.location, cwe: f.cwe };
}

function assertFingerprints(findings: Finding[]): void {
  for (const f of findings) {
    assert.match(f.fingerprint, /^[0-9a-f]{32}$/);
    // No key anywhere holds undefined (a JSON round trip would lose it).
    assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
  }
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, findings.length, 'fingerprints are distinct');
}

type Obj = Record<string, unknown>;

function run(name: string, results: Obj[], rules: Obj[] = [], more: Obj = {}): Obj {
  return { tool: { driver: { name, rules } }, results, ...more };
}

function log(...runs: Obj[]): string {
  return JSON.stringify({ version: '2.1.0', $schema: 'https://json.schemastore.org/sarif-2.1.0.json', runs });
}

function res(more: Obj = {}, line = 10): Obj {
  return {
    ruleId: 'R1',
    message: { text: 'A problem' },
    locations: [{ physicalLocation: { artifactLocation: { uri: 'src/a.ts' }, region: { startLine: line } } }],
    ...more,
  };
}

function one(text: string): Finding {
  const findings = sarifParser.parse(text);
  assert.equal(findings.length, 1);
  return findings[0] as Finding;
}

test('every SARIF fixture is covered by these tests', () => {
  assert.deepEqual(readdirSync(`${FIXTURES_DIR}sarif`).sort(), Object.values(SARIF_FILES).sort());
  assert.deepEqual(
    readdirSync(`${FIXTURES_DIR}semgrep`).filter((f) => f.endsWith('.sarif')),
    [SEMGREP_SARIF],
  );
});

test('bandit: two results, rule via ruleIndex, no level anywhere → SARIF default warning', () => {
  const findings = parseFixture(SARIF_FILES.bandit);
  assert.equal(findings.length, 2);
  assert.deepEqual(core(findings[0]), {
    engine: 'bandit',
    type: 'sast',
    ruleId: 'B104',
    severity: 'medium',
    location: { path: 'backend/config/settings/dist.py', startLine: 14 },
    cwe: undefined,
  });
  assert.deepEqual(findings[1]?.location, { path: 'backend/config/settings/local.py', startLine: 14 });
  assert.equal(findings[0]?.title, 'Possible binding to all interfaces.');
  assert.deepEqual(findings[0]?.references, [
    'https://bandit.readthedocs.io/en/1.7.4/plugins/b104_hardcoded_bind_all_interfaces.html',
  ]);
  assertFingerprints(findings);
});

test('checkov: four misconfigurations at level error', () => {
  const findings = parseFixture(SARIF_FILES.checkov);
  assert.equal(findings.length, 4);
  assert.deepEqual(core(findings[0]), {
    engine: 'checkov',
    type: 'misconfig',
    ruleId: 'CKV_DOCKER_2',
    severity: 'high',
    location: { path: 'frontend/docker/Dockerfile', startLine: 1, endLine: 41 },
    cwe: undefined,
  });
  assert.deepEqual(
    findings.map((f) => f.location?.path),
    [
      'frontend/docker/Dockerfile',
      'backend/docker/cloud/redis/Dockerfile',
      'backend/docker/cloud/django/Dockerfile',
      'backend/docker/local/django/Dockerfile',
    ],
  );
  for (const f of findings) {
    assert.equal(f.type, 'misconfig');
    assert.equal(f.title, 'Ensure that HEALTHCHECK instructions have been added to container images');
    // fullDescription repeats the title, so there is nothing more to say.
    assert.equal(f.description, undefined);
  }
  assertFingerprints(findings);
});

test('eslint: ten results of which five are suppressed in source; file:// URIs', () => {
  const findings = parseFixture(SARIF_FILES.eslint);
  assert.equal(findings.length, 5);
  assert.deepEqual(core(findings[0]), {
    engine: 'eslint',
    type: 'sast',
    ruleId: '@typescript-eslint/no-unused-vars',
    severity: 'medium',
    location: {
      path: 'home/stefanf/workspace/SecObserve/frontend/src/App.tsx',
      startLine: 19,
      endLine: 19,
      startColumn: 44,
      endColumn: 50,
    },
    cwe: undefined,
  });
  assert.equal(findings[0]?.title, "'locale' is defined but never used.");
  assert.deepEqual(findings[4]?.location, {
    path: 'home/stefanf/workspace/SecObserve/frontend/src/core/types.ts',
    startLine: 1,
    endLine: 1,
    startColumn: 10,
    endColumn: 16,
  });
  // Every security/detect-object-injection and no-non-null-assertion result carries an inSource suppression.
  assert.deepEqual(new Set(findings.map((f) => f.ruleId)), new Set(['@typescript-eslint/no-unused-vars']));
  for (const f of findings) assert.ok(!f.location?.path.startsWith('file:'));
  assertFingerprints(findings);
});

test('flawfinder: no results → []', () => {
  assert.deepEqual(parseFixture(SARIF_FILES.flawfinderNone), []);
});

test('flawfinder: four results, rules found by id, CWEs from rule relationships', () => {
  const findings = parseFixture(SARIF_FILES.flawfinder);
  assert.equal(findings.length, 4);
  assert.deepEqual(core(findings[0]), {
    engine: 'flawfinder',
    type: 'sast',
    ruleId: 'FF1013',
    severity: 'low',
    location: { path: 'vulnerable.c', startLine: 4, startColumn: 5, endColumn: 18 },
    cwe: ['CWE-119', 'CWE-120'],
  });
  assert.deepEqual(core(findings[3]), {
    engine: 'flawfinder',
    type: 'sast',
    ruleId: 'FF1014',
    severity: 'high',
    location: { path: 'vulnerable.c', startLine: 7, startColumn: 5, endColumn: 15 },
    cwe: ['CWE-120', 'CWE-20'],
  });
  assert.deepEqual(
    findings.map((f) => [f.ruleId, f.severity, f.cwe]),
    [
      ['FF1013', 'low', ['CWE-119', 'CWE-120']],
      ['FF1001', 'high', ['CWE-120']],
      ['FF1016', 'high', ['CWE-134']],
      ['FF1014', 'high', ['CWE-120', 'CWE-20']],
    ],
  );
  assert.equal(findings[2]?.title, 'format/printf:If format strings can be influenced by an attacker, they can be exploited (CWE-134).');
  assert.deepEqual(findings[1]?.references, ['https://cwe.mitre.org/data/definitions/120.html']);
  assertFingerprints(findings);
});

test('semgrep 1.16.0 SARIF: four results, level from the rule default, multi-line messages', () => {
  const findings = parseFixture(SEMGREP_SARIF, 'semgrep');
  assert.equal(findings.length, 4);
  const ruleId = 'typescript.react.portability.i18next.jsx-not-internationalized.jsx-not-internationalized';
  assert.deepEqual(core(findings[0]), {
    engine: 'semgrep',
    type: 'sast',
    ruleId,
    severity: 'medium',
    location: {
      path: 'frontend/src/access_control/AADSignInButton.tsx',
      startLine: 27,
      endLine: 33,
      startColumn: 9,
      endColumn: 18,
    },
    cwe: undefined,
  });
  assert.deepEqual(core(findings[1]), {
    engine: 'semgrep',
    type: 'sast',
    ruleId,
    severity: 'medium',
    location: { path: 'frontend/src/commons/about/About.tsx', startLine: 78, endLine: 78, startColumn: 17, endColumn: 51 },
    cwe: undefined,
  });
  assert.deepEqual(
    findings.map((f) => f.location?.startLine),
    [27, 78, 81, 83],
  );
  // The message's first line is the title; the full message (and the rule's text) is the description.
  assert.equal(findings[0]?.title, "JSX element not internationalized: '");
  assert.ok(findings[0]?.description?.includes('Sign in with Microsoft'));
  assert.ok(findings[0]?.description?.includes('internationalize your elements.'));
  assertFingerprints(findings);
});

test('fingerprints differ across all SARIF fixtures', () => {
  const all = [...Object.values(SARIF_FILES).flatMap((f) => parseFixture(f)), ...parseFixture(SEMGREP_SARIF, 'semgrep')];
  assert.equal(all.length, 2 + 4 + 5 + 0 + 4 + 4);
  assertFingerprints(all);
});

test('severityFromScore: CVSS bands', () => {
  assert.equal(severityFromScore('10.0'), 'critical');
  assert.equal(severityFromScore(9), 'critical');
  assert.equal(severityFromScore('8.9'), 'high');
  assert.equal(severityFromScore('7.0'), 'high');
  assert.equal(severityFromScore(6.9), 'medium');
  assert.equal(severityFromScore('4'), 'medium');
  assert.equal(severityFromScore('3.9'), 'low');
  assert.equal(severityFromScore(0.1), 'low');
  assert.equal(severityFromScore('0.0'), 'info');
  assert.equal(severityFromScore(''), undefined);
  assert.equal(severityFromScore('high'), undefined);
  assert.equal(severityFromScore(11), undefined);
  assert.equal(severityFromScore(undefined), undefined);
});

test('severity: result level, then rule default level, then SARIF default', () => {
  const rules = [{ id: 'R1', defaultConfiguration: { level: 'error' } }];
  const levels = ['error', 'warning', 'note', 'none'];
  const findings = sarifParser.parse(log(run('Tool', levels.map((level, i) => res({ level }, i + 1)), rules)));
  assert.deepEqual(
    findings.map((f) => f.severity),
    ['high', 'medium', 'low', 'info'],
  );
  assert.equal(one(log(run('Tool', [res()], rules))).severity, 'high', 'rule default');
  assert.equal(one(log(run('Tool', [res()]))).severity, 'medium', 'no level at all: warning');
  assert.equal(one(log(run('Tool', [res({ kind: 'informational' })]))).severity, 'info', 'non-fail kind: none');
});

test('severity: security-severity wins over levels, result before rule', () => {
  const rules = [{ id: 'R1', defaultConfiguration: { level: 'note' }, properties: { 'security-severity': '7.5' } }];
  assert.equal(one(log(run('CodeQL', [res({ level: 'note' })], rules))).severity, 'high', 'rule security-severity');
  assert.equal(
    one(log(run('CodeQL', [res({ level: 'note', properties: { 'security-severity': '9.8' } })], rules))).severity,
    'critical',
    'result security-severity',
  );
  assert.equal(one(log(run('CodeQL', [res({ level: 'error', properties: { 'security-severity': 2 } })]))).severity, 'low');
  assert.equal(
    one(log(run('CodeQL', [res({ level: 'error', properties: { 'security-severity': 'n/a' } })]))).severity,
    'high',
    'unreadable score is ignored',
  );
});

test('rule lookup: ruleIndex, rule.id, rule.index, extensions, by id', () => {
  const driverRules = [
    { id: 'D0', shortDescription: { text: 'Driver rule zero' } },
    { id: 'D1', shortDescription: { text: 'Driver rule one' }, defaultConfiguration: { level: 'error' } },
  ];
  const extRules = [{ id: 'E0', defaultConfiguration: { level: 'note' }, properties: { tags: ['external/cwe/cwe-079'] } }];
  const text = JSON.stringify({
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'CodeQL', rules: driverRules }, extensions: [{ name: 'pack', rules: extRules }] },
        results: [
          { ruleIndex: 1, message: { text: 'via ruleIndex' } },
          { rule: { id: 'E0', index: 0, toolComponent: { index: 0 } }, message: { text: 'via extension' } },
          { ruleId: 'E0', message: { text: 'by id' } },
          { rule: { id: 'D0' }, message: { text: 'via rule.id' } },
        ],
      },
    ],
  });
  const findings = sarifParser.parse(text);
  assert.deepEqual(
    findings.map((f) => [f.ruleId, f.severity, f.cwe ?? []]),
    [
      ['D1', 'high', []],
      ['E0', 'low', ['CWE-79']],
      ['E0', 'low', ['CWE-79']],
      ['D0', 'medium', []],
    ],
  );
  // No location at all: still a finding, without a location.
  assert.equal(findings[0]?.location, undefined);
});

test('title and description: message first line, rule fallbacks, message strings', () => {
  const rules = [
    {
      id: 'R1',
      shortDescription: { text: 'Short rule text' },
      fullDescription: { text: 'The full description of the rule.' },
      help: { text: 'Help text' },
      messageStrings: { default: { text: 'Value {0} flows to {1}.' } },
    },
  ];
  const a = one(log(run('Tool', [res({ message: { text: 'First line\nsecond line' } })], rules)));
  assert.equal(a.title, 'First line');
  assert.equal(a.description, 'First line\nsecond line\n\nThe full description of the rule.');
  const b = one(log(run('Tool', [res({ message: undefined })], rules)));
  assert.equal(b.title, 'Short rule text');
  assert.equal(b.description, 'The full description of the rule.');
  const c = one(log(run('Tool', [res({ message: { id: 'default', arguments: ['x', 'eval()'] } })], rules)));
  assert.equal(c.title, 'Value x flows to eval().');
  const d = one(log(run('Tool', [res({ message: { text: 'y'.repeat(300) } })])));
  assert.equal(d.title, `${'y'.repeat(199)}…`);
  assert.equal(d.description, 'y'.repeat(300));
  const e = one(log(run('Tool', [res({ message: {} })], [{ id: 'R1', help: { text: 'Only help' } }])));
  assert.equal(e.title, 'R1');
  assert.equal(e.description, 'Only help');
});

test('CWE from rule tags in both spellings, deduplicated, other tags ignored', () => {
  const rules = [
    {
      id: 'R1',
      properties: {
        tags: ['security', 'external/cwe/cwe-079', 'CWE-79: XSS', 'external/cwe/cwe-116', 'OWASP-A03:2021 - Injection', '2021'],
      },
    },
  ];
  assert.deepEqual(one(log(run('CodeQL', [res()], rules))).cwe, ['CWE-79', 'CWE-116']);
  const taxa = one(log(run('Tool', [res({ taxa: [{ id: '22', toolComponent: { name: 'CWE' } }, { id: 'A01' }] })])));
  assert.deepEqual(taxa.cwe, ['CWE-22']);
});

test('locations: file:// stripped, percent-decoding, artifacts by index, first physical location', () => {
  const at = (artifactLocation: Obj, region?: Obj) => ({
    locations: [{ logicalLocations: [{ name: 'f' }] }, { physicalLocation: { artifactLocation, region } }],
  });
  const findings = sarifParser.parse(
    log(
      run(
        'Tool',
        [
          res(at({ uri: 'file:///C:/src/My%20App/a.cs' }, { startLine: 2, endLine: 3, startColumn: 4, endColumn: 5 })),
          res(at({ uri: './lib/b.py', uriBaseId: '%SRCROOT%' }, { startLine: 1, charOffset: 5 })),
          res(at({ index: 1 })),
          res(at({ uri: 'bad%zz.js' })),
        ],
        [],
        { artifacts: [{ location: { uri: 'zero.js' } }, { location: { uri: 'one.js' } }] },
      ),
    ),
  );
  assert.deepEqual(
    findings.map((f) => f.location),
    [
      { path: 'C:/src/My App/a.cs', startLine: 2, endLine: 3, startColumn: 4, endColumn: 5 },
      { path: 'lib/b.py', startLine: 1 },
      { path: 'one.js' },
      { path: 'bad%zz.js' },
    ],
  );
});

test('type from the driver name', () => {
  const cases: [string, Finding['type']][] = [
    ['Checkov', 'misconfig'],
    ['tfsec', 'misconfig'],
    ['KICS', 'misconfig'],
    ['terrascan', 'misconfig'],
    ['trivy-config', 'misconfig'],
    ['Gitleaks', 'secrets'],
    ['TruffleHog', 'secrets'],
    ['detect-secrets', 'secrets'],
    ['Grype', 'sca'],
    ['osv-scanner', 'sca'],
    ['Semgrep OSS', 'sast'],
    ['CodeQL', 'sast'],
    ['Bandit', 'sast'],
  ];
  for (const [name, type] of cases) {
    const f = one(log(run(name, [res()])));
    assert.equal(f.type, type, name);
    assert.equal(f.engine, name.toLowerCase());
  }
});

test('trivy: the rule tags say which scanner found it', () => {
  const rules = [
    { id: 'CVE-2023-0001', properties: { tags: ['vulnerability', 'security', 'HIGH'] } },
    { id: 'DS002', properties: { tags: ['misconfiguration', 'security', 'HIGH'] } },
    { id: 'aws-access-key-id', properties: { tags: ['secret', 'security', 'CRITICAL'] } },
  ];
  const findings = sarifParser.parse(log(run('Trivy', rules.map((r, i) => res({ ruleId: r.id, ruleIndex: i })), rules)));
  assert.deepEqual(
    findings.map((f) => f.type),
    ['sca', 'misconfig', 'secrets'],
  );
  assert.equal(sarifScanType('trivy'), 'misconfig');
});

test('pass / notApplicable / absent / suppressed results are left out', () => {
  const findings = sarifParser.parse(
    log(
      run('Tool', [
        res({ kind: 'pass' }, 1),
        res({ kind: 'notApplicable' }, 2),
        res({ baselineState: 'absent' }, 3),
        res({ suppressions: [{ kind: 'external', status: 'accepted' }] }, 4),
        res({ suppressions: [{ kind: 'inSource' }] }, 5),
        res({ suppressions: [{ kind: 'external', status: 'underReview' }] }, 6),
        res({ suppressions: [{ kind: 'external', status: 'rejected' }] }, 7),
        res({ kind: 'fail', baselineState: 'new' }, 8),
      ]),
    ),
  );
  assert.deepEqual(
    findings.map((f) => f.location?.startLine),
    [6, 7, 8],
  );
});

test('several runs: each finding carries its own run’s tool', () => {
  const findings = sarifParser.parse(log(run('ESLint', [res()]), run('Checkov', [res()]), run('Empty', [])));
  assert.deepEqual(
    findings.map((f) => [f.engine, f.type]),
    [
      ['eslint', 'sast'],
      ['checkov', 'misconfig'],
    ],
  );
  assertFingerprints(findings);
});

test('zero results, missing results, null results → []', () => {
  assert.deepEqual(sarifParser.parse(log()), []);
  assert.deepEqual(sarifParser.parse(log(run('Tool', []))), []);
  assert.deepEqual(sarifParser.parse(log({ tool: { driver: { name: 'Tool' } } })), []);
  assert.deepEqual(sarifParser.parse(log({ tool: { driver: { name: 'Tool' } }, results: null })), []);
});

test('not SARIF 2.1 throws ScanParseError naming sarif', () => {
  const bad = [
    '',
    ' \n',
    'not json',
    '{"version": "2.1.0", "runs": [',
    '{}',
    '[]',
    'null',
    '{"version": "2.1.0"}',
    '{"version": "2.1.0", "runs": {}}',
    '{"runs": []}',
    '{"version": "2.0.0", "runs": []}',
    '{"version": "1.0.0", "runs": []}',
    '{"version": 2.1, "runs": []}',
    '{"version": "2.1.0", "runs": [42]}',
    '{"version": "2.1.0", "runs": [{"results": []}]}',
    '{"version": "2.1.0", "runs": [{"tool": {}, "results": []}]}',
    '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": {}}]}',
    '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [7]}]}',
  ];
  for (const text of bad) {
    assert.throws(
      () => sarifParser.parse(text),
      (err: unknown) => err instanceof ScanParseError && err.engine === 'sarif' && /sarif/.test(err.message),
      `input ${JSON.stringify(text)}`,
    );
  }
});

test('parser metadata', () => {
  assert.equal(sarifParser.engine, 'sarif');
});

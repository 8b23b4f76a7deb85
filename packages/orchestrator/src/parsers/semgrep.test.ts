import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { Finding } from '../finding.js';
import { FIXTURES_DIR, fixture } from '../testing/fixtures.js';
import { semgrepParser, semgrepSeverity } from './semgrep.js';
import { ScanParseError } from './types.js';

const FILES = {
  v096: 'semgrep-0.96.0-cwe-list.json',
  v130: 'semgrep-1.30.0-five-findings.json',
  v184: 'semgrep-1.84.1-high-medium-low-severities.json',
  v197: 'semgrep-1.97.0-one-finding-dataflow-trace.json',
};

function parseFixture(file: string): Finding[] {
  return semgrepParser.parse(fixture('semgrep', file));
}

/** The fields that identify and rate a finding. */
function core(f: Finding | undefined) {
  assert.ok(f, 'finding exists');
  return { ruleId: f.ruleId, severity: f.severity, location: f.location, cwe: f.cwe };
}

/** A `semgrep --json` document with the given results. */
function report(results: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ version: '1.97.0', results, errors: [], ...extra });
}

function result(overrides: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    check_id: 'rules.test-rule',
    path: 'src/app.py',
    start: { line: 3, col: 1, offset: 10 },
    end: { line: 4, col: 9, offset: 30 },
    extra: { message: 'Something is wrong', severity: 'WARNING', metadata: {}, ...extra },
    ...overrides,
  };
}

function assertFingerprints(findings: Finding[]): void {
  for (const f of findings) {
    assert.match(f.fingerprint, /^[0-9a-f]{32}$/);
    // No key anywhere holds undefined (a JSON round trip would lose it).
    assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
  }
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, findings.length, 'fingerprints are distinct');
}

test('every semgrep JSON fixture is covered by these tests', () => {
  const json = readdirSync(`${FIXTURES_DIR}semgrep`).filter((f) => f.endsWith('.json'));
  assert.deepEqual(json.sort(), Object.values(FILES).sort());
});

test('semgrep 0.96.0: one INFO finding with a CWE list and references', () => {
  const findings = parseFixture(FILES.v096);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.deepEqual(core(f), {
    ruleId: 'javascript.express.security.audit.express-check-csurf-middleware-usage.express-check-csurf-middleware-usage',
    severity: 'low',
    location: { path: 'index.js', startLine: 12, endLine: 12, startColumn: 7, endColumn: 22 },
    cwe: ['CWE-352'],
  });
  assert.deepEqual(f?.references, [
    'https://www.npmjs.com/package/csurf',
    'https://www.npmjs.com/package/csrf',
    'https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html',
  ]);
  // The one-line message is longer than 200 characters: the title is cut, the description keeps all of it.
  assert.equal(f?.title.length, 200);
  assert.ok(f?.title.startsWith('A CSRF middleware was not detected in your express application.'));
  assert.ok(f?.title.endsWith('…'));
  assert.ok(f?.description?.endsWith('with a token or cookies.'));
  assert.equal(f?.engine, 'semgrep');
  assert.equal(f?.type, 'sast');
  assertFingerprints(findings);
});

test('semgrep 1.30.0: five WARNING findings of one rule in one file', () => {
  const findings = parseFixture(FILES.v130);
  assert.equal(findings.length, 5);
  const ruleId = 'go.lang.security.audit.net.formatted-template-string.formatted-template-string';
  assert.deepEqual(core(findings[0]), {
    ruleId,
    severity: 'medium',
    location: { path: 'test.go', startLine: 27, endLine: 30, startColumn: 5, endColumn: 31 },
    cwe: ['CWE-79'],
  });
  assert.deepEqual(core(findings[4]), {
    ruleId,
    severity: 'medium',
    location: { path: 'test.go', startLine: 77, endLine: 77, startColumn: 12, endColumn: 91 },
    cwe: ['CWE-79'],
  });
  assert.deepEqual(
    findings.map((f) => f.location?.startLine),
    [27, 54, 61, 67, 77],
  );
  for (const f of findings) {
    assert.equal(f.ruleId, ruleId);
    assert.deepEqual(f.references, ['https://golang.org/pkg/html/template/#HTML']);
  }
  assertFingerprints(findings);
});

test('semgrep 1.84.1: LOW severity, absolute paths made relative, no CWE metadata', () => {
  const findings = parseFixture(FILES.v184);
  assert.equal(findings.length, 3);
  const path = 'Users/user.example/git/company/full-codebase/company/lead-magnet/src/templates/base.html.twig';
  assert.deepEqual(core(findings[0]), {
    ruleId: 'rules.sast.dev.generic.internal.detect-cdn-usage-react-express',
    severity: 'low',
    location: { path, startLine: 48, endLine: 48, startColumn: 1, endColumn: 89 },
    cwe: undefined,
  });
  assert.deepEqual(findings[2]?.location, { path, startLine: 50, endLine: 50, startColumn: 1, endColumn: 203 });
  const f = findings[0];
  assert.equal(
    f?.title,
    'Potential CDN usage detected. Consider removing or replacing CDN references to comply with GDPR and also avoid supply chain risk',
  );
  assert.equal(f?.description, undefined, 'no description when the message is the title');
  assert.equal(f?.references, undefined);
  assert.ok(!('cwe' in (f ?? {})), 'empty fields are dropped');
  assertFingerprints(findings);
});

test('semgrep 1.97.0: one ERROR finding with a dataflow trace', () => {
  const findings = parseFixture(FILES.v197);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.deepEqual(core(f), {
    ruleId: 'python.lang.security.audit.dangerous-subprocess-use-tainted-env-args.dangerous-subprocess-use-tainted-env-args',
    severity: 'high',
    location: { path: 'sample/brute.py', startLine: 31, endLine: 31, startColumn: 29, endColumn: 58 },
    cwe: ['CWE-78'],
  });
  assert.equal(
    f?.title,
    "Detected subprocess function 'run' with user controlled data. A malicious actor could leverage this to perform command injection. You may consider using 'shlex.quote()'.",
  );
  assert.equal(f?.references?.length, 4);
  assert.equal(f?.references?.[3], 'https://semgrep.dev/docs/cheat-sheets/python-command-injection/');
  assertFingerprints(findings);
});

test('fingerprints differ across all semgrep fixtures', () => {
  assertFingerprints(Object.values(FILES).flatMap(parseFixture));
});

test('semgrepSeverity: legacy and new severity words', () => {
  assert.equal(semgrepSeverity('ERROR'), 'high');
  assert.equal(semgrepSeverity('WARNING'), 'medium');
  assert.equal(semgrepSeverity('INFO'), 'low');
  assert.equal(semgrepSeverity('CRITICAL'), 'critical');
  assert.equal(semgrepSeverity('HIGH'), 'high');
  assert.equal(semgrepSeverity('MEDIUM'), 'medium');
  assert.equal(semgrepSeverity('LOW'), 'low');
  assert.equal(semgrepSeverity('error'), 'high');
  assert.equal(semgrepSeverity(' info '), 'low');
  assert.equal(semgrepSeverity('EXPERIMENT'), 'info');
  assert.equal(semgrepSeverity(undefined), 'info');
});

test('each severity word reaches the finding', () => {
  const words = ['ERROR', 'WARNING', 'INFO', 'HIGH', 'MEDIUM', 'LOW', 'CRITICAL'];
  const findings = semgrepParser.parse(
    report(words.map((severity, i) => result({ start: { line: i + 1, col: 1 }, end: { line: i + 1, col: 2 } }, { severity }))),
  );
  assert.deepEqual(
    findings.map((f) => f.severity),
    ['high', 'medium', 'low', 'high', 'medium', 'low', 'critical'],
  );
  assertFingerprints(findings);
});

test('title is the first line of the message; description the whole message', () => {
  const message = '  Tainted input reaches a sink.\nSee the docs for how to fix it.\n';
  const [f] = semgrepParser.parse(report([result({}, { message })]));
  assert.equal(f?.title, 'Tainted input reaches a sink.');
  assert.equal(f?.description, 'Tainted input reaches a sink.\nSee the docs for how to fix it.');
});

test('a long first line is cut to 200 characters', () => {
  const [f] = semgrepParser.parse(report([result({}, { message: 'x'.repeat(500) })]));
  assert.equal(f?.title.length, 200);
  assert.equal(f?.title, `${'x'.repeat(199)}…`);
  assert.equal(f?.description, 'x'.repeat(500));
});

test('a missing message falls back to the rule id', () => {
  const [f] = semgrepParser.parse(report([result({}, { message: undefined })]));
  assert.equal(f?.title, 'rules.test-rule');
  assert.equal(f?.description, undefined);
});

test('cwe and references may be a single string; duplicates and junk are dropped', () => {
  const [one] = semgrepParser.parse(
    report([result({}, { metadata: { cwe: 'CWE-89: SQL Injection', references: 'https://example.com/sqli' } })]),
  );
  assert.deepEqual(one?.cwe, ['CWE-89']);
  assert.deepEqual(one?.references, ['https://example.com/sqli']);
  const [many] = semgrepParser.parse(
    report([
      result({}, { metadata: { cwe: ['CWE-79: XSS', 'cwe-79', 'not a cwe', 352], references: ['https://a', 'https://a', 7, ''] } }),
    ]),
  );
  assert.deepEqual(many?.cwe, ['CWE-79', 'CWE-352']);
  assert.deepEqual(many?.references, ['https://a']);
});

test('path without positions, and no path at all', () => {
  const [a, b] = semgrepParser.parse(
    report([result({ path: './lib/x.js', start: undefined, end: undefined }), result({ path: undefined })]),
  );
  assert.deepEqual(a?.location, { path: 'lib/x.js' });
  assert.equal(b?.location, undefined);
});

test('top-level errors are not findings', () => {
  const text = report([], {
    errors: [{ code: 3, level: 'warn', type: 'Syntax error', message: 'Syntax error at line x.py:1', path: 'x.py' }],
  });
  assert.deepEqual(semgrepParser.parse(text), []);
});

test('nosemgrep-ignored results (is_ignored) are not findings', () => {
  const findings = semgrepParser.parse(report([result({}, { is_ignored: true }), result({ path: 'b.py' }, { is_ignored: false })]));
  assert.equal(findings.length, 1);
  assert.equal(findings[0]?.location?.path, 'b.py');
});

test('malformed output throws ScanParseError naming semgrep', () => {
  const bad = ['', '   \n', 'not json', '{"results": [', '{}', '[]', 'null', '42', '"text"', '{"results": {}}', '{"errors": []}'];
  for (const text of bad) {
    assert.throws(
      () => semgrepParser.parse(text),
      (err: unknown) => err instanceof ScanParseError && err.engine === 'semgrep' && /semgrep/.test(err.message),
      `input ${JSON.stringify(text)}`,
    );
  }
});

test('malformed results throw ScanParseError naming semgrep', () => {
  for (const results of [[42], [null], [{ path: 'a.py', extra: {} }]]) {
    assert.throws(
      () => semgrepParser.parse(report(results)),
      (err: unknown) => err instanceof ScanParseError && /semgrep.*results\[0\]/.test(err.message),
    );
  }
});

test('parser metadata', () => {
  assert.equal(semgrepParser.engine, 'semgrep');
  assert.deepEqual(semgrepParser.parse(report([])), []);
});

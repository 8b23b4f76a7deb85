import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecret, type Finding } from '../finding.js';
import { fixture } from '../testing/fixtures.js';
import { gitleaksParser } from './gitleaks.js';
import { ScanParseError } from './types.js';

const GIT = 'gitleaks-git-mode-findings.json';
const DIR = 'gitleaks-dir-mode-findings.json';
const NONE = 'gitleaks-no-findings.json';

const DESCRIPTION =
  'Detected a Generic API Key, potentially exposing access to various services and sensitive operations.';

const parse = (text: string): Finding[] => gitleaksParser.parse(text);
const load = (file: string): Finding[] => parse(fixture('gitleaks', file));
const entries = (file: string): Record<string, unknown>[] =>
  JSON.parse(fixture('gitleaks', file)) as Record<string, unknown>[];
/** One fixture entry, changed, as a one-entry report. */
const report = (entry: Record<string, unknown>): string => JSON.stringify([entry]);

function withoutFingerprint(f: Finding | undefined): Omit<Finding, 'fingerprint'> {
  assert.ok(f, 'finding expected');
  const copy: Partial<Finding> = { ...f };
  delete copy.fingerprint;
  return copy as Omit<Finding, 'fingerprint'>;
}

function isScanParseError(pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ScanParseError, `expected a ScanParseError, got ${String(err)}`);
    assert.equal(err.engine, 'gitleaks');
    assert.match(err.message, /gitleaks/);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

test('the parser is registered under the gitleaks engine name', () => {
  assert.equal(gitleaksParser.engine, 'gitleaks');
});

test('git mode: 3 findings with commit, author and date in the description and the link as reference', () => {
  const findings = load(GIT);
  assert.equal(findings.length, 3);
  assert.deepEqual(withoutFingerprint(findings[0]), {
    engine: 'gitleaks',
    type: 'secrets',
    ruleId: 'generic-api-key',
    title: DESCRIPTION,
    description: 'Found in commit b718aa975b79d141225d928ba2822ea010b74d2b by Stefan Fleckenstein on 2023-09-22T07:53:30Z.',
    severity: 'high',
    location: { path: 'docker-compose-playwright.yml', startLine: 42, endLine: 43, startColumn: 8, endColumn: 90 },
    secret: { redacted: '[64 chars, sha256:e6cdc8b8]' },
    references: [
      'https://github.com/MaibornWolff/SecObserve/blob/b718aa975b79d141225d928ba2822ea010b74d2b/docker-compose-playwright.yml#L42',
    ],
  });
  assert.deepEqual(withoutFingerprint(findings[2]), {
    engine: 'gitleaks',
    type: 'secrets',
    ruleId: 'generic-api-key',
    title: DESCRIPTION,
    description: 'Found in commit a22291a13233b1282ddd0e54e479385690c06fa5 by Stefan Fleckenstein on 2023-09-21T20:15:21Z.',
    severity: 'high',
    location: { path: 'docker-compose-playwright.yml', startLine: 47, endLine: 47, startColumn: 8, endColumn: 90 },
    secret: { redacted: '[64 chars, sha256:e6cdc8b8]' },
    references: [
      'https://github.com/MaibornWolff/SecObserve/blob/a22291a13233b1282ddd0e54e479385690c06fa5/docker-compose-playwright.yml#L47',
    ],
  });
  assert.deepEqual(findings[1]?.location, {
    path: 'docker-compose-playwright.yml',
    startLine: 43,
    endLine: 43,
    startColumn: 8,
    endColumn: 73,
  });
  assert.equal(findings[1]?.secret?.redacted, '[44 chars, sha256:6fe16ea8]');
  // Same secret (entries 0 and 2) at another line of another commit: same hint, another finding.
  assert.equal(findings[0]?.secret?.redacted, findings[2]?.secret?.redacted);
  assert.notEqual(findings[0]?.fingerprint, findings[2]?.fingerprint);
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, 3);
});

test('dir mode: 3 findings, empty commit fields → no description, no reference', () => {
  const findings = load(DIR);
  assert.equal(findings.length, 3);
  assert.deepEqual(withoutFingerprint(findings[0]), {
    engine: 'gitleaks',
    type: 'secrets',
    ruleId: 'generic-api-key',
    title: DESCRIPTION,
    severity: 'high',
    location: { path: 'backend/bin/run_pylint.sh', startLine: 18, endLine: 19, startColumn: 9, endColumn: 90 },
    secret: { redacted: '[64 chars, sha256:e6cdc8b8]' },
  });
  assert.deepEqual(
    findings.map((f) => [f.location?.path, f.location?.startLine, f.secret?.redacted]),
    [
      ['backend/bin/run_pylint.sh', 18, '[64 chars, sha256:e6cdc8b8]'],
      ['backend/bin/run_pylint.sh', 19, '[44 chars, sha256:6fe16ea8]'],
      ['backend/bin/run_mypy.sh', 18, '[64 chars, sha256:e6cdc8b8]'],
    ],
  );
  for (const f of findings) {
    assert.equal('description' in f, false);
    assert.equal('references' in f, false);
  }
  // Same secret in two files (entries 0 and 2): distinct fingerprints.
  assert.notEqual(findings[0]?.fingerprint, findings[2]?.fingerprint);
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, 3);
});

test('no findings: [] → []', () => {
  assert.deepEqual(load(NONE), []);
  assert.deepEqual(parse(' [ ]\n'), []);
});

test('every fixture: 32-hex fingerprints, high severity, the hint is redactSecret(Secret)', () => {
  for (const file of [GIT, DIR, NONE]) {
    const findings = load(file);
    const raw = entries(file);
    assert.equal(findings.length, raw.length, file);
    findings.forEach((f, i) => {
      assert.match(f.fingerprint, /^[0-9a-f]{32}$/, file);
      assert.equal(f.engine, 'gitleaks');
      assert.equal(f.type, 'secrets');
      assert.equal(f.severity, 'high');
      assert.equal(f.ruleId, raw[i]?.['RuleID']);
      assert.deepEqual(f.secret, { redacted: redactSecret(raw[i]?.['Secret'] as string) });
    });
  }
});

test('distinct secrets get distinct fingerprints, even at the same place', () => {
  const [first, second] = entries(GIT);
  assert.ok(first && second);
  const [a, b] = parse(JSON.stringify([first, { ...first, Secret: second['Secret'] }]));
  assert.notEqual(a?.secret?.redacted, b?.secret?.redacted);
  assert.notEqual(a?.fingerprint, b?.fingerprint);
});

test('no Secret, Match, Line or commit message text appears anywhere in the findings', () => {
  for (const file of [GIT, DIR]) {
    const out = JSON.stringify(load(file));
    for (const entry of entries(file)) {
      for (const key of ['Secret', 'Match']) {
        const v = entry[key];
        assert.ok(typeof v === 'string' && v !== '', `${file} has a ${key}`);
        assert.ok(!out.includes(v), `${file} leaks ${key}`);
      }
      const message = entry['Message'];
      if (typeof message === 'string' && message !== '') assert.ok(!out.includes(message), `${file} copies Message`);
    }
  }
  // Newer gitleaks versions add `Line`, the whole source line.
  const [entry] = entries(DIR);
  assert.ok(entry);
  const line = `export ${String(entry['Match'])} # local only`;
  const out = JSON.stringify(parse(report({ ...entry, Line: line })));
  assert.ok(!out.includes(line));
  assert.ok(!out.includes(String(entry['Secret'])));
});

test('a report that is not an array → ScanParseError naming gitleaks', () => {
  for (const text of ['{}', 'null', '42', '"x"', '{"findings":[]}']) {
    assert.throws(() => parse(text), isScanParseError(/array/), text);
  }
});

test('empty or malformed JSON → ScanParseError that does not quote the report', () => {
  assert.throws(() => parse(''), isScanParseError(/empty/));
  assert.throws(() => parse(' \n'), isScanParseError(/empty/));
  const text = fixture('gitleaks', GIT);
  const secret = String(entries(GIT)[0]?.['Secret']);
  const truncated = text.slice(0, text.indexOf(secret) + 20);
  assert.throws(() => parse(truncated), (err: unknown) => {
    isScanParseError(/JSON/)(err);
    assert.ok(!(err as Error).message.includes(secret.slice(0, 10)), (err as Error).message);
    return true;
  });
  // V8 would quote the text around the error here.
  assert.throws(() => parse('[{"RuleID":"x","Secret": SUPERSECRETVALUE1}]'), (err: unknown) => {
    isScanParseError(/JSON/)(err);
    assert.ok(!(err as Error).message.includes('SUPERSEC'), (err as Error).message);
    assert.equal((err as Error).cause, undefined);
    return true;
  });
});

test('an entry that is not a finding object → ScanParseError with its index', () => {
  const [entry] = entries(DIR);
  assert.ok(entry);
  assert.throws(() => parse(JSON.stringify([entry, 'oops'])), isScanParseError(/index 1\b/));
  assert.throws(() => parse(JSON.stringify([entry, null])), isScanParseError(/index 1\b/));
  assert.throws(() => parse(JSON.stringify([{ ...entry, RuleID: '' }])), isScanParseError(/index 0\b.*RuleID/));
});

test('optional fields: no File → no location, no Link → no reference, commit without author or date', () => {
  const [entry] = entries(GIT);
  assert.ok(entry);
  const [noFile] = parse(report({ ...entry, File: '', Link: undefined }));
  assert.ok(noFile);
  assert.equal('location' in noFile, false);
  assert.equal('references' in noFile, false);
  assert.match(noFile.fingerprint, /^[0-9a-f]{32}$/);

  const [bare] = parse(report({ ...entry, Author: '', Date: '' }));
  assert.equal(bare?.description, 'Found in commit b718aa975b79d141225d928ba2822ea010b74d2b.');

  const [zero] = parse(report({ ...entry, StartColumn: 0, EndColumn: 0 }));
  assert.deepEqual(zero?.location, { path: 'docker-compose-playwright.yml', startLine: 42, endLine: 43 });

  const [noDescription] = parse(report({ ...entry, Description: '' }));
  assert.equal(noDescription?.title, 'generic-api-key secret');

  const [windows] = parse(report({ ...entry, File: 'config\\local.env' }));
  assert.equal(windows?.location?.path, 'config/local.env');
});

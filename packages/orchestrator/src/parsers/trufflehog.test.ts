import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecret, type Finding } from '../finding.js';
import { fixture } from '../testing/fixtures.js';
import { trufflehogParser } from './trufflehog.js';
import { ScanParseError } from './types.js';

const GIT = 'trufflehog-v3-git-source.jsonl';
const GITHUB = 'trufflehog-v3-github-source.jsonl';
const FILESYSTEM = 'trufflehog-v3-filesystem-source.jsonl';
const ALL = [GIT, GITHUB, FILESYSTEM];

const parse = (text: string): Finding[] => trufflehogParser.parse(text);
const load = (file: string): Finding[] => parse(fixture('trufflehog', file));

/** The fixture's lines, parsed (the fixtures have no blank lines). */
function lines(file: string): Record<string, unknown>[] {
  return fixture('trufflehog', file)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function withoutFingerprint(f: Finding | undefined): Omit<Finding, 'fingerprint'> {
  assert.ok(f, 'finding expected');
  const copy: Partial<Finding> = { ...f };
  delete copy.fingerprint;
  return copy as Omit<Finding, 'fingerprint'>;
}

function isScanParseError(lineNo?: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ScanParseError, `expected a ScanParseError, got ${String(err)}`);
    assert.equal(err.engine, 'trufflehog');
    assert.match(err.message, /trufflehog/);
    if (lineNo !== undefined) assert.match(err.message, new RegExp(`\\bline ${lineNo}\\b`));
    return true;
  };
}

test('the parser is registered under the trufflehog engine name', () => {
  assert.equal(trufflehogParser.engine, 'trufflehog');
});

test('git source: 4 findings, commit in the description, not in the path', () => {
  const findings = load(GIT);
  assert.equal(findings.length, 4);
  assert.deepEqual(withoutFingerprint(findings[0]), {
    engine: 'trufflehog',
    type: 'secrets',
    ruleId: 'AWS',
    title: 'AWS secret (verified)',
    description: 'Found in commit fbc14303ffbf8fb1c2c1914e8dda7d0121633aca.',
    severity: 'high',
    location: { path: 'keys', startLine: 4 },
    secret: { verified: true, redacted: '[28 chars, sha256:82701dc8]' },
  });
  assert.deepEqual(withoutFingerprint(findings[2]), {
    engine: 'trufflehog',
    type: 'secrets',
    ruleId: 'PrivateKey',
    title: 'PrivateKey secret (verified)',
    description: 'Found in commit 77b2a3e56973785a52ba4ae4b8dac61d4bac016f.',
    severity: 'high',
    location: { path: 'keys', startLine: 1 },
    secret: { verified: true, redacted: '[3540 chars, sha256:71559718]' },
  });
  assert.deepEqual(
    findings.map((f) => [f.ruleId, f.location?.path, f.location?.startLine, f.severity, f.secret?.verified]),
    [
      ['AWS', 'keys', 4, 'high', true],
      ['URI', 'keys', 3, 'high', true],
      ['PrivateKey', 'keys', 1, 'high', true],
      ['URI', 'keys', 3, 'high', true],
    ],
  );
  // Lines 2 and 4 of the fixture are the same finding reported twice: kept, same fingerprint.
  assert.equal(findings[1]?.fingerprint, findings[3]?.fingerprint);
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, 3);
});

test('github source: 4 findings, the blob link as a reference, same identities as the git scan', () => {
  const findings = load(GITHUB);
  assert.equal(findings.length, 4);
  assert.deepEqual(withoutFingerprint(findings[1]), {
    engine: 'trufflehog',
    type: 'secrets',
    ruleId: 'URI',
    title: 'URI secret (verified)',
    description: 'Found in commit 77b2a3e56973785a52ba4ae4b8dac61d4bac016f.',
    severity: 'high',
    location: { path: 'keys', startLine: 3 },
    secret: { verified: true, redacted: '[76 chars, sha256:2bb44bc0]' },
    references: ['https://github.com/trufflesecurity/test_keys/blob/77b2a3e56973785a52ba4ae4b8dac61d4bac016f/keys'],
  });
  assert.deepEqual(findings[0]?.references, [
    'https://github.com/trufflesecurity/test_keys/blob/fbc14303ffbf8fb1c2c1914e8dda7d0121633aca/keys',
  ]);
  assert.deepEqual(
    findings.map((f) => f.ruleId),
    ['AWS', 'URI', 'PrivateKey', 'URI'],
  );
  // Same repository scanned through the git and the github sources: same secrets, same places.
  assert.deepEqual(
    findings.map((f) => f.fingerprint),
    load(GIT).map((f) => f.fingerprint),
  );
});

test('filesystem source: 6 findings, unverified → medium, detector description kept', () => {
  const findings = load(FILESYSTEM);
  assert.equal(findings.length, 6);
  assert.deepEqual(withoutFingerprint(findings[0]), {
    engine: 'trufflehog',
    type: 'secrets',
    ruleId: 'URI',
    title: 'URI secret',
    description:
      'This detector identifies URLs with embedded credentials, which can be used to access web resources without explicit user interaction.',
    severity: 'medium',
    location: { path: '.git/config', startLine: 13 },
    secret: { verified: false, redacted: '[53 chars, sha256:5ce0f6b6]' },
  });
  assert.deepEqual(withoutFingerprint(findings[4]), {
    engine: 'trufflehog',
    type: 'secrets',
    ruleId: 'Postgres',
    title: 'Postgres secret',
    description: 'Postgres connection string containing credentials',
    severity: 'medium',
    location: { path: 'github.com/pressly/goose/v3/README.md', startLine: 93 },
    secret: { verified: false, redacted: '[69 chars, sha256:e1453e9a]' },
  });
  assert.deepEqual(
    findings.map((f) => [f.ruleId, f.location?.path, f.location?.startLine]),
    [
      ['URI', '.git/config', 13],
      ['Postgres', 'github.com/jackc/pgx/v5/pgxpool/pool.go', 297],
      ['Postgres', 'github.com/jackc/pgx/v5/pgconn/config.go', 1],
      ['Postgres', 'github.com/jackc/pgx/v5/pgconn/config.go', 171],
      ['Postgres', 'github.com/pressly/goose/v3/README.md', 93],
      ['Postgres', 'github.com/pressly/goose/v3/README.md', 93],
    ],
  );
  for (const f of findings) {
    assert.equal(f.severity, 'medium');
    assert.equal(f.secret?.verified, false);
    assert.ok(!f.title.includes('verified'), f.title);
    assert.equal(f.references, undefined);
  }
  // The duplicate line (5 and 6) is returned twice, with the same fingerprint; dedupe is later.
  assert.equal(findings[4]?.fingerprint, findings[5]?.fingerprint);
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, 5);
  // Lines 2 and 4 hold the same secret in two files: same hint, different fingerprints.
  assert.equal(findings[1]?.secret?.redacted, findings[3]?.secret?.redacted);
  assert.notEqual(findings[1]?.fingerprint, findings[3]?.fingerprint);
});

test('every fixture: 32-hex fingerprints; the hint is redactSecret(Raw) of its own line', () => {
  for (const file of ALL) {
    const findings = load(file);
    const raw = lines(file);
    assert.equal(findings.length, raw.length, file);
    findings.forEach((f, i) => {
      assert.match(f.fingerprint, /^[0-9a-f]{32}$/, file);
      assert.equal(f.engine, 'trufflehog');
      assert.equal(f.type, 'secrets');
      assert.equal(f.secret?.redacted, redactSecret(raw[i]?.['Raw'] as string), `${file} line ${i + 1}`);
      assert.match(f.secret?.redacted ?? '', /^\[\d+ chars, sha256:[0-9a-f]{8}\]$/);
    });
  }
});

test('distinct secrets get distinct fingerprints, even at the same place', () => {
  const [aws, , key] = load(GIT);
  assert.ok(aws && key);
  assert.notEqual(aws.secret?.redacted, key.secret?.redacted);
  assert.notEqual(aws.fingerprint, key.fingerprint);
  // Same detector, same file and line, different Raw → different finding.
  const line = lines(GIT)[1] as Record<string, unknown>;
  const other = { ...line, Raw: `${String(line['Raw'])}x` };
  const [a, b] = parse(`${JSON.stringify(line)}\n${JSON.stringify(other)}`);
  assert.notEqual(a?.fingerprint, b?.fingerprint);
});

test('no Raw, RawV2, Redacted or decoded Raw value appears anywhere in the findings', () => {
  for (const file of ALL) {
    const out = JSON.stringify(load(file));
    for (const [i, line] of lines(file).entries()) {
      const values = ['Raw', 'RawV2', 'Redacted']
        .map((k) => line[k])
        .filter((v): v is string => typeof v === 'string' && v !== '');
      const raw = line['Raw'];
      if (typeof raw === 'string') {
        const bytes = Buffer.from(raw, 'base64');
        if (bytes.toString('base64') === raw) values.push(bytes.toString('utf8'));
      }
      assert.ok(values.length >= 2, `${file} line ${i + 1} has secret values to check`);
      for (const v of values) assert.ok(!out.includes(v), `${file} line ${i + 1} leaks a secret value`);
    }
  }
  // The git fixture's decoded Raw values, checked by their tell-tale parts too.
  const git = JSON.stringify(load(GIT));
  assert.ok(!git.includes('AKIA'));
  assert.ok(!git.includes('PRIVATE KEY'));
  assert.ok(!git.includes('admin:admin'));
});

test('empty output is a clean scan', () => {
  assert.deepEqual(parse(''), []);
  assert.deepEqual(parse('\n'), []);
  assert.deepEqual(parse(' \n\r\n\t\n'), []);
});

test('final newline, CRLF line ends and blank lines do not change the result', () => {
  for (const file of ALL) {
    const text = fixture('trufflehog', file);
    const expected = parse(text);
    const bare = text.replace(/\n+$/, '');
    assert.deepEqual(parse(bare), expected, file);
    assert.deepEqual(parse(`${bare}\n`), expected, file);
    assert.deepEqual(parse(bare.replace(/\n/g, '\r\n')), expected, file);
    assert.deepEqual(parse(`\n\n${bare.replace(/\n/g, '\n\n  \n')}\n\n`), expected, file);
  }
});

test('a line that is not JSON → ScanParseError naming trufflehog and the line, without quoting it', () => {
  const [first, second] = fixture('trufflehog', GIT).split('\n');
  assert.ok(first && second);
  const truncated = second.slice(0, second.indexOf('"Raw"') + 20);
  assert.throws(
    () => parse(`${first}\n${truncated}`),
    (err: unknown) => isScanParseError(2)(err) && !(err as Error).message.includes(truncated.slice(-15)),
  );
  assert.throws(() => parse(`${first}\n\n${first}\nnot json`), isScanParseError(4));
  assert.throws(() => parse('{"DetectorName":"AWS","Raw": SUPERSECRETVALUE1}'), (err: unknown) => {
    isScanParseError(1)(err);
    assert.ok(!(err as Error).message.includes('SUPERSEC'), (err as Error).message);
    assert.equal((err as Error).cause, undefined);
    return true;
  });
});

test('a JSON line that is not a finding object → ScanParseError with its line number', () => {
  const first = lines(GIT)[0];
  const ok = JSON.stringify(first);
  for (const bad of ['[]', 'null', '42', '"AWS"']) {
    assert.throws(() => parse(`${ok}\n${bad}`), isScanParseError(2), bad);
  }
  // A log line (stderr mixed into stdout) has no DetectorName.
  assert.throws(
    () => parse(`${ok}\n${ok}\n{"level":"info-0","logger":"trufflehog","msg":"running source"}`),
    isScanParseError(3),
  );
  assert.throws(() => parse(JSON.stringify({ ...first, DetectorName: '' })), isScanParseError(1));
});

test('Verified other than true is unverified: medium, no "(verified)", same identity', () => {
  const line = lines(GIT)[0] as Record<string, unknown>;
  const [verified] = parse(JSON.stringify(line));
  for (const value of [false, undefined, 'true', 1]) {
    const [f] = parse(JSON.stringify({ ...line, Verified: value }));
    assert.equal(f?.severity, 'medium');
    assert.equal(f?.title, 'AWS secret');
    assert.equal(f?.secret?.verified, false);
    assert.equal(f?.fingerprint, verified?.fingerprint);
  }
});

test('location comes from whichever source the metadata names; missing parts are left out', () => {
  const line = lines(GIT)[0] as Record<string, unknown>;
  const git = (line['SourceMetadata'] as { Data: { Git: Record<string, unknown> } }).Data.Git;
  const withData = (data: unknown): string => JSON.stringify({ ...line, SourceMetadata: { Data: data } });

  const [gitlab] = parse(withData({ Gitlab: { ...git, file: './src/app.env', line: 7 } }));
  assert.deepEqual(gitlab?.location, { path: 'src/app.env', startLine: 7 });
  assert.equal(gitlab?.description, 'Found in commit fbc14303ffbf8fb1c2c1914e8dda7d0121633aca.');

  const [noLine] = parse(withData({ Filesystem: { file: 'a/b.txt' } }));
  assert.deepEqual(noLine?.location, { path: 'a/b.txt' });
  assert.equal(noLine?.description, undefined);

  const [zeroLine] = parse(withData({ Filesystem: { file: 'a/b.txt', line: 0 } }));
  assert.deepEqual(zeroLine?.location, { path: 'a/b.txt' });

  for (const data of [{}, { Syslog: { hostname: 'h' } }, null]) {
    const [f] = parse(withData(data));
    assert.ok(f);
    assert.equal('location' in f, false);
    assert.match(f.fingerprint, /^[0-9a-f]{32}$/);
  }
  const [noMeta] = parse(JSON.stringify({ DetectorName: 'AWS', Verified: false, Raw: 'x' }));
  assert.deepEqual(withoutFingerprint(noMeta), {
    engine: 'trufflehog',
    type: 'secrets',
    ruleId: 'AWS',
    title: 'AWS secret',
    severity: 'medium',
    secret: { verified: false, redacted: redactSecret('x') },
  });
});

test('the hint is made from Raw as given, not from RawV2 or Redacted', () => {
  const line = lines(FILESYSTEM)[0] as Record<string, unknown>;
  const [f] = parse(JSON.stringify(line));
  assert.equal(f?.secret?.redacted, redactSecret(line['Raw'] as string));
  assert.notEqual(f?.secret?.redacted, redactSecret(line['RawV2'] as string));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../finding.js';
import { fixture } from '../testing/fixtures.js';
import { scancodeParser } from './scancode.js';
import { ScanParseError } from './types.js';

const FORMAT_4 = 'scancode-32.3.0-format-4.0.0-mime-types.json';
const FORMAT_3 = 'scancode-32.0.8-format-3.0.0-spdx-expression-parse.json';
const FORMAT_1 = 'scancode-30.1.0-format-1.0.0-mime-types.json';

function parseFixture(file: string): Finding[] {
  return scancodeParser.parse(fixture('scancode', file));
}

function withoutFingerprint(f: Finding): Omit<Finding, 'fingerprint'> {
  const { fingerprint: _fingerprint, ...rest } = f;
  return rest;
}

/** `path|licence` for each finding, sorted. */
function pairs(findings: Finding[], path?: string): string[] {
  return findings
    .filter((f) => path === undefined || f.location?.path === path)
    .map((f) => `${f.location?.path}|${f.licence}`)
    .sort();
}

function assertFingerprints(findings: Finding[]): void {
  for (const f of findings) assert.match(f.fingerprint, /^[0-9a-f]{32}$/);
  assert.equal(new Set(findings.map((f) => f.fingerprint)).size, findings.length, 'fingerprints are not distinct');
}

function assertLicenceShape(findings: Finding[]): void {
  for (const f of findings) {
    assert.equal(f.engine, 'scancode');
    assert.equal(f.type, 'licence');
    assert.equal(f.severity, 'info');
    assert.equal(f.ruleId, f.licence);
    assert.equal(f.title, `${f.licence} in ${f.location?.path}`);
  }
}

function doc(files: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ headers: [{ tool_name: 'scancode-toolkit', output_format_version: '4.0.0' }], ...extra, files });
}

test('scancode: engine name', () => {
  assert.equal(scancodeParser.engine, 'scancode');
});

test('scancode format 4.0.0: one MIT finding per licensed file', () => {
  const findings = parseFixture(FORMAT_4);
  assert.equal(findings.length, 4);
  assertLicenceShape(findings);
  assert.deepEqual(pairs(findings), ['LICENSE|MIT', 'README.md|MIT', 'index.js|MIT', 'package.json|MIT']);
  assert.deepEqual(
    findings.map((f) => f.location),
    [
      { path: 'index.js', startLine: 5, endLine: 5 },
      { path: 'LICENSE', startLine: 1, endLine: 1 },
      { path: 'package.json', startLine: 10, endLine: 10 },
      { path: 'README.md', startLine: 95, endLine: 97 },
    ],
  );
  assertFingerprints(findings);
});

test('scancode format 4.0.0: two MIT detections in LICENSE are one finding at the first', () => {
  const licence = parseFixture(FORMAT_4).filter((f) => f.location?.path === 'LICENSE');
  assert.equal(licence.length, 1);
  const [f] = licence;
  assert.ok(f);
  assert.deepEqual(withoutFingerprint(f), {
    engine: 'scancode',
    type: 'licence',
    ruleId: 'MIT',
    title: 'MIT in LICENSE',
    description: 'ScanCode expression: mit; detections: 2; lines: 1, 6-23',
    severity: 'info',
    location: { path: 'LICENSE', startLine: 1, endLine: 1 },
    licence: 'MIT',
  });
});

test('scancode format 4.0.0: directories, unlicensed files and copyrights give nothing', () => {
  const paths = new Set(parseFixture(FORMAT_4).map((f) => f.location?.path));
  // `test` is a directory; `.eslintignore` had a scan error; the others have no licence but
  // LICENSE's copyright statements are not findings either.
  for (const p of ['test', '.eslintignore', '.eslintrc', '.travis.yml', 'HISTORY.md', 'test/.eslintrc', 'test/test.js']) {
    assert.ok(!paths.has(p), `${p} should have no finding`);
  }
});

test('scancode format 3.0.0: SPDX expressions derived for detections that state none', () => {
  const findings = parseFixture(FORMAT_3);
  assert.equal(findings.length, 7);
  assertLicenceShape(findings);
  assert.deepEqual(pairs(findings), [
    'CONTRIBUTING.md|LicenseRef-scancode-generic-cla AND MIT',
    'LICENSE|MIT',
    'README.md|BSD-2-Clause AND GPL-2.0-only WITH GCC-exception-2.0 AND GPL-2.0-only AND GCC-exception-2.0 AND CC-BY-3.0 AND MIT',
    'README.md|JSON',
    'package.json|MIT',
    'test.js|BSD-3-Clause AND GPL-2.0-only WITH GCC-exception-2.0',
    'test.js|GPL-2.0-only AND GCC-exception-2.0',
  ]);
  assertFingerprints(findings);
});

test('scancode format 3.0.0: the (path, licence) pairs of test.js and its first detection', () => {
  const findings = parseFixture(FORMAT_3);
  assert.deepEqual(pairs(findings, 'test.js'), [
    'test.js|BSD-3-Clause AND GPL-2.0-only WITH GCC-exception-2.0',
    'test.js|GPL-2.0-only AND GCC-exception-2.0',
  ]);
  const [first] = findings.filter((f) => f.location?.path === 'test.js');
  assert.ok(first);
  assert.deepEqual(withoutFingerprint(first), {
    engine: 'scancode',
    type: 'licence',
    ruleId: 'BSD-3-Clause AND GPL-2.0-only WITH GCC-exception-2.0',
    title: 'BSD-3-Clause AND GPL-2.0-only WITH GCC-exception-2.0 in test.js',
    description: 'ScanCode expression: bsd-new AND gpl-2.0 WITH gcc-linking-exception-2.0; detections: 1; lines: 87',
    severity: 'info',
    location: { path: 'test.js', startLine: 87, endLine: 87 },
    licence: 'BSD-3-Clause AND GPL-2.0-only WITH GCC-exception-2.0',
  });
});

test('scancode format 3.0.0: README.md detections and lines; directories ignored', () => {
  const findings = parseFixture(FORMAT_3);
  const readme = findings.filter((f) => f.location?.path === 'README.md');
  assert.deepEqual(
    readme.map((f) => [f.licence, f.location?.startLine, f.location?.endLine]),
    [
      ['JSON', 1, 1],
      [
        'BSD-2-Clause AND GPL-2.0-only WITH GCC-exception-2.0 AND GPL-2.0-only AND GCC-exception-2.0 AND CC-BY-3.0 AND MIT',
        96,
        96,
      ],
    ],
  );
  const contributing = findings.find((f) => f.location?.path === 'CONTRIBUTING.md');
  assert.deepEqual(contributing?.location, { path: 'CONTRIBUTING.md', startLine: 12, endLine: 12 });
  const paths = new Set(findings.map((f) => f.location?.path));
  for (const p of ['.github', '.github/workflows', '.github/workflows/ci.yml', 'index.js', 'parse.js', 'scan.js']) {
    assert.ok(!paths.has(p), `${p} should have no finding`);
  }
});

test('scancode format 1.0.0 (old layout): licenses[] and license_expressions', () => {
  const findings = parseFixture(FORMAT_1);
  assert.equal(findings.length, 4);
  assertLicenceShape(findings);
  assert.deepEqual(pairs(findings), ['LICENSE|MIT', 'README.md|MIT', 'index.js|MIT', 'package.json|MIT']);
  const readme = findings.find((f) => f.location?.path === 'README.md');
  assert.ok(readme);
  assert.deepEqual(withoutFingerprint(readme), {
    engine: 'scancode',
    type: 'licence',
    ruleId: 'MIT',
    title: 'MIT in README.md',
    description: 'ScanCode expression: mit; detections: 1; lines: 95-97',
    severity: 'info',
    location: { path: 'README.md', startLine: 95, endLine: 97 },
    licence: 'MIT',
  });
  const licence = findings.find((f) => f.location?.path === 'LICENSE');
  assert.equal(licence?.description, 'ScanCode expression: mit; detections: 2; lines: 1, 6-23');
  assertFingerprints(findings);
});

test('scancode: the same project scanned by 30.1.0 and 32.3.0 gives the same fingerprints', () => {
  const old = parseFixture(FORMAT_1).map((f) => f.fingerprint);
  const current = parseFixture(FORMAT_4).map((f) => f.fingerprint);
  assert.deepEqual(old, current);
});

test('scancode: keys without an SPDX id become LicenseRef-scancode-<key>; operators and parentheses kept', () => {
  const findings = scancodeParser.parse(
    doc(
      [
        {
          path: 'src/a.c',
          type: 'file',
          license_detections: [
            {
              license_expression: '(mit OR apache-2.0) AND some-vendor-eula',
              matches: [{ license_expression: 'mit OR apache-2.0', start_line: 3, end_line: 4 }],
            },
          ],
        },
      ],
      { license_references: [{ key: 'mit', spdx_license_key: 'MIT' }, { key: 'apache-2.0', spdx_license_key: 'Apache-2.0' }] },
    ),
  );
  assert.deepEqual(
    findings.map((f) => [f.licence, f.location]),
    [['(MIT OR Apache-2.0) AND LicenseRef-scancode-some-vendor-eula', { path: 'src/a.c', startLine: 3, endLine: 4 }]],
  );
});

test('scancode: lines come from the first match in the file itself', () => {
  const [f, g] = scancodeParser.parse(
    doc([
      {
        path: 'pkg/README.md',
        type: 'file',
        license_detections: [
          {
            license_expression: 'mit',
            license_expression_spdx: 'MIT',
            matches: [
              { from_file: 'root/pkg/LICENSE', start_line: 1, end_line: 20 },
              { from_file: 'root/pkg/README.md', start_line: 40, end_line: 41 },
              { from_file: 'root/pkg/README.md', start_line: 60, end_line: 60 },
              { from_file: 'root/other/pkg/LICENSE', start_line: 2, end_line: 2 },
            ],
          },
          {
            // No match in this file: the first match is used.
            license_expression: 'apache-2.0',
            license_expression_spdx: 'Apache-2.0',
            matches: [
              { from_file: 'root/NOTICE', start_line: 7, end_line: 9 },
              { from_file: 'root/LICENSE', start_line: 1, end_line: 200 },
            ],
          },
        ],
      },
    ]),
  );
  assert.deepEqual(f?.location, { path: 'pkg/README.md', startLine: 40, endLine: 41 });
  assert.deepEqual(g?.location, { path: 'pkg/README.md', startLine: 7, endLine: 9 });
});

test('scancode: old layout, one match of a WITH expression listed per key is one finding', () => {
  const rule = { identifier: 'gpl-2.0-classpath_1.RULE', license_expression: 'gpl-2.0 WITH classpath-exception-2.0' };
  const findings = scancodeParser.parse(
    doc([
      { path: 'lib', type: 'directory', licenses: [{ key: 'mit', spdx_license_key: 'MIT' }], license_expressions: ['mit'] },
      {
        path: 'lib/Foo.java',
        type: 'file',
        licenses: [
          { key: 'gpl-2.0', spdx_license_key: 'GPL-2.0-only', start_line: 2, end_line: 8, matched_rule: rule },
          { key: 'classpath-exception-2.0', spdx_license_key: 'Classpath-exception-2.0', start_line: 2, end_line: 8, matched_rule: rule },
        ],
        license_expressions: ['gpl-2.0 WITH classpath-exception-2.0'],
      },
      // Expressions only: keys are looked up in what the rest of the report states.
      { path: 'lib/Bar.java', type: 'file', license_expressions: ['gpl-2.0', 'unknown-thing'] },
    ]),
  );
  assert.deepEqual(
    findings.map((f) => [f.licence, f.location]),
    [
      ['GPL-2.0-only WITH Classpath-exception-2.0', { path: 'lib/Foo.java', startLine: 2, endLine: 8 }],
      ['GPL-2.0-only', { path: 'lib/Bar.java' }],
      ['LicenseRef-scancode-unknown-thing', { path: 'lib/Bar.java' }],
    ],
  );
  assertFingerprints(findings);
});

test('scancode: a file-level expression without detections is one finding without lines', () => {
  const findings = scancodeParser.parse(
    doc([
      { path: './x/y.py', type: 'file', detected_license_expression: 'bsd-new', detected_license_expression_spdx: 'BSD-3-Clause', license_detections: [] },
      { path: 'x', type: 'directory', detected_license_expression_spdx: 'BSD-3-Clause' },
      { path: 'x/z.py', type: 'file', detected_license_expression: null, detected_license_expression_spdx: null, license_detections: [] },
    ]),
  );
  assert.equal(findings.length, 1);
  assert.ok(findings[0]);
  assert.deepEqual(withoutFingerprint(findings[0]), {
    engine: 'scancode',
    type: 'licence',
    ruleId: 'BSD-3-Clause',
    title: 'BSD-3-Clause in x/y.py',
    description: 'ScanCode expression: bsd-new; detections: 1',
    severity: 'info',
    location: { path: 'x/y.py' },
    licence: 'BSD-3-Clause',
  });
});

test('scancode: no files, no findings', () => {
  assert.deepEqual(scancodeParser.parse(doc([])), []);
});

test('scancode: malformed output is a ScanParseError naming scancode', () => {
  const cases: [string, string][] = [
    ['empty text', ''],
    ['blank text', '\n\t '],
    ['not JSON', 'Setup plugins...\nERROR: unknown option'],
    ['truncated JSON', fixture('scancode', FORMAT_4).slice(0, 800)],
    ['an array', '[]'],
    ['an empty object', '{}'],
    ['null', 'null'],
    ['files not an array', '{"files": {}}'],
    ['a file entry that is not an object', '{"files": ["LICENSE"]}'],
    ['a file entry without path', '{"files": [{"type": "file"}]}'],
  ];
  for (const [name, text] of cases) {
    assert.throws(
      () => scancodeParser.parse(text),
      (err: unknown) => err instanceof ScanParseError && err.engine === 'scancode' && /scancode/.test(err.message),
      name,
    );
  }
});

/**
 * Trivy JSON reports (`trivy image|fs|repo --format json`, SchemaVersion 2).
 *
 * The report is an object whose `Results` list has one entry per scanned target (an OS package
 * database, a lock file, a jar, a Dockerfile...). A result may carry `Vulnerabilities`,
 * `Misconfigurations`, `Secrets` and `Licenses`; each becomes a finding of type `sca`,
 * `misconfig`, `secrets` and `licence` respectively. Other keys (`Packages`, `MisconfSummary`,
 * `Metadata`...) are ignored.
 *
 * Secrets: Trivy masks the secret in `Match` and in `Code.Lines`, but neither field is ever
 * copied into a finding; only a redacted hint of the match is kept.
 */
import { finding, normaliseCwe, normalisePath, normaliseSeverity, redactSecret } from '../finding.js';
import type { Finding, FindingLocation } from '../finding.js';
import { ScanParseError, int, isObject, parseJson, str } from './types.js';
import type { ScannerParser } from './types.js';

const ENGINE = 'trivy';

/** The only report layout Trivy has written as an object (since v0.20). */
const SCHEMA_VERSION = 2;

type Obj = Record<string, unknown>;

function fail(reason: string): never {
  throw new ScanParseError(ENGINE, reason);
}

/** A list field: absent or null → empty; anything but a list of objects → ScanParseError. */
function objects(obj: Obj, key: string, where: string): Obj[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(`${where}.${key} is not a list`);
  return v.map((item, i) => {
    if (!isObject(item)) fail(`${where}.${key}[${i}] is not an object`);
    return item;
  });
}

/** Strings of a list field, empty strings and non-strings left out. */
function strings(obj: Obj | undefined, key: string): string[] {
  const v = obj?.[key];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && s !== '') : [];
}

/** `PrimaryURL` first, then `References`, each once. */
function references(obj: Obj): string[] {
  const primary = str(obj, 'PrimaryURL');
  return [...new Set([...(primary ? [primary] : []), ...strings(obj, 'References')])];
}

/** The object without its undefined fields (`finding()` only drops top-level ones). */
function compact<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** Titles are one line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function required(obj: Obj, key: string, where: string): string {
  return str(obj, key) ?? fail(`${where} has no ${key}`);
}

function vulnerability(result: Obj, target: string, v: Obj, where: string): Finding {
  const id = required(v, 'VulnerabilityID', where);
  const name = required(v, 'PkgName', where);
  const cwe = [...new Set(strings(v, 'CweIDs').map(normaliseCwe).filter((c): c is string => c !== undefined))];
  const identifier = isObject(v['PkgIdentifier']) ? v['PkgIdentifier'] : undefined;
  return finding({
    engine: ENGINE,
    type: 'sca',
    ruleId: id,
    title: oneLine(str(v, 'Title') ?? id),
    description: str(v, 'Description'),
    severity: normaliseSeverity(v['Severity']),
    location: { path: str(v, 'PkgPath') ?? target },
    package: compact({
      name,
      version: str(v, 'InstalledVersion'),
      fixedVersion: str(v, 'FixedVersion'),
      purl: str(identifier, 'PURL'),
      ecosystem: str(result, 'Type'),
    }),
    cwe,
    references: references(v),
  });
}

function misconfiguration(target: string, m: Obj, where: string): Finding | undefined {
  // Trivy lists only failures unless run with --include-non-failures; then PASS and EXCEPTION
  // entries appear too. Those are not problems. A missing Status is taken as a failure.
  const status = str(m, 'Status');
  if (status !== undefined && status.toUpperCase() !== 'FAIL') return undefined;
  const id = str(m, 'ID') ?? str(m, 'AVDID') ?? fail(`${where} has no ID or AVDID`);
  const cause = isObject(m['CauseMetadata']) ? m['CauseMetadata'] : undefined;
  const location: FindingLocation = compact({
    path: target,
    startLine: int(cause, 'StartLine'),
    endLine: int(cause, 'EndLine'),
  });
  const description = str(m, 'Description');
  const resolution = str(m, 'Resolution');
  return finding({
    engine: ENGINE,
    type: 'misconfig',
    ruleId: id,
    title: oneLine(str(m, 'Title') ?? id),
    description: resolution ? [description, `Resolution: ${resolution}`].filter(Boolean).join('\n\n') : description,
    severity: normaliseSeverity(m['Severity']),
    location,
    references: references(m),
  });
}

/**
 * What the redacted hint is made from: Trivy's `Match` (the matching line, secret already
 * masked by Trivy), else the code lines Trivy marks as the cause. Never stored as such.
 */
function secretText(s: Obj): string {
  const match = str(s, 'Match');
  if (match !== undefined) return match;
  const code = isObject(s['Code']) ? s['Code'] : undefined;
  const lines = Array.isArray(code?.['Lines']) ? code['Lines'] : [];
  return lines
    .filter((l): l is Obj => isObject(l) && l['IsCause'] === true)
    .map((l) => (typeof l['Content'] === 'string' ? l['Content'] : ''))
    .join('\n');
}

function secret(target: string, s: Obj, where: string): Finding {
  const rule = required(s, 'RuleID', where);
  const location: FindingLocation = compact({ path: target, startLine: int(s, 'StartLine'), endLine: int(s, 'EndLine') });
  return finding({
    engine: ENGINE,
    type: 'secrets',
    ruleId: rule,
    title: oneLine(str(s, 'Title') ?? rule),
    severity: normaliseSeverity(s['Severity']),
    location,
    secret: { redacted: redactSecret(secretText(s)) },
  });
}

function licence(target: string, l: Obj, where: string): Finding {
  const name = required(l, 'Name', where);
  const pkg = str(l, 'PkgName');
  const file = str(l, 'FilePath');
  const path = file !== undefined ? normalisePath(file) : target;
  const category = str(l, 'Category');
  const confidence = typeof l['Confidence'] === 'number' ? l['Confidence'] : undefined;
  const details = [
    category !== undefined ? `category ${category}` : undefined,
    confidence !== undefined ? `confidence ${confidence}` : undefined,
  ].filter((d): d is string => d !== undefined);
  const link = str(l, 'Link');
  return finding({
    engine: ENGINE,
    type: 'licence',
    ruleId: name,
    title: oneLine(`${name} licence in ${pkg ?? path}`),
    description: details.length > 0 ? `Trivy licence ${details.join(', ')}.` : undefined,
    severity: normaliseSeverity(l['Severity']),
    location: { path },
    package: pkg !== undefined ? { name: pkg } : undefined,
    licence: name,
    references: link !== undefined ? [link] : undefined,
  });
}

function parse(text: string): Finding[] {
  const doc = parseJson(ENGINE, text);
  if (!isObject(doc)) fail('expected a JSON object (a `--format json` report with SchemaVersion 2)');
  if (!('SchemaVersion' in doc) && !('Results' in doc)) fail('no SchemaVersion or Results: not a Trivy JSON report');
  const version = doc['SchemaVersion'];
  if (version !== undefined && version !== SCHEMA_VERSION) {
    fail(`unsupported SchemaVersion ${JSON.stringify(version)} (expected ${SCHEMA_VERSION})`);
  }

  const out: Finding[] = [];
  objects(doc, 'Results', 'report').forEach((result, r) => {
    const where = `Results[${r}]`;
    const target = str(result, 'Target') ?? fail(`${where} has no Target`);
    objects(result, 'Vulnerabilities', where).forEach((v, i) => {
      out.push(vulnerability(result, target, v, `${where}.Vulnerabilities[${i}]`));
    });
    objects(result, 'Misconfigurations', where).forEach((m, i) => {
      const f = misconfiguration(target, m, `${where}.Misconfigurations[${i}]`);
      if (f) out.push(f);
    });
    objects(result, 'Secrets', where).forEach((s, i) => {
      out.push(secret(target, s, `${where}.Secrets[${i}]`));
    });
    objects(result, 'Licenses', where).forEach((l, i) => {
      out.push(licence(target, l, `${where}.Licenses[${i}]`));
    });
  });
  return out;
}

export const trivyParser: ScannerParser = { engine: ENGINE, parse };

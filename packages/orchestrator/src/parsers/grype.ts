/**
 * Grype (`grype -o json`) → normalised findings.
 *
 * The report is one object whose `matches` array holds one entry per (vulnerability, package)
 * pair: `vulnerability` (id, severity, description, urls, fix, and in newer versions cwes,
 * epss, knownExploited), `relatedVulnerabilities` (e.g. the CVE behind a GHSA) and `artifact`
 * (the package: name, version, type, purl, locations). Each match becomes one `sca` finding.
 * `ignoredMatches` (matches suppressed by the user's ignore rules) are not findings.
 */
import { finding, normaliseCwe, normaliseSeverity } from '../finding.js';
import type { Finding, FindingLocation, FindingPackage } from '../finding.js';
import { isObject, parseJson, ScanParseError, str } from './types.js';
import type { ScannerParser } from './types.js';

const ENGINE = 'grype';

/** The object elements of `v` when it is an array, else none. */
function objects(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** The non-empty string elements of `v` when it is an array, else none. */
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && s.trim() !== '') : [];
}

/**
 * CWE ids grype reports for a vulnerability: `cwes` on the vulnerability and on its related
 * vulnerabilities (objects `{cve, cwe, source, type}`; plain strings accepted too), and the
 * `cwes` string lists of `knownExploited` (CISA KEV) entries. Normalised and deduplicated.
 */
function cwesOf(vuln: Record<string, unknown>, related: Record<string, unknown>[]): string[] {
  const raw: unknown[] = [];
  for (const v of [vuln, ...related]) {
    if (Array.isArray(v.cwes)) for (const entry of v.cwes) raw.push(isObject(entry) ? entry.cwe : entry);
    for (const kev of objects(v.knownExploited)) raw.push(...strings(kev.cwes));
  }
  const out = new Set<string>();
  for (const value of raw) {
    const cwe = normaliseCwe(value);
    if (cwe) out.add(cwe);
  }
  return [...out];
}

function parseMatch(match: unknown, index: number): Finding {
  if (!isObject(match)) throw new ScanParseError(ENGINE, `matches[${index}] is not an object`);
  const vuln = match.vulnerability;
  const artifact = match.artifact;
  if (!isObject(vuln)) throw new ScanParseError(ENGINE, `matches[${index}] has no vulnerability`);
  if (!isObject(artifact)) throw new ScanParseError(ENGINE, `matches[${index}] has no artifact`);
  const id = str(vuln, 'id');
  if (!id) throw new ScanParseError(ENGINE, `matches[${index}].vulnerability has no id`);
  const name = str(artifact, 'name');
  if (!name) throw new ScanParseError(ENGINE, `matches[${index}].artifact has no name`);
  const version = str(artifact, 'version');
  const related = objects(match.relatedVulnerabilities);

  const fix = isObject(vuln.fix) ? vuln.fix : undefined;
  const fixVersions = strings(fix?.versions);
  const pkg: FindingPackage = {
    name,
    version,
    fixedVersion: fixVersions.length > 0 ? fixVersions.join(', ') : undefined,
    purl: str(artifact, 'purl'),
    ecosystem: str(artifact, 'type'),
  };
  for (const key of Object.keys(pkg) as (keyof FindingPackage)[]) {
    if (pkg[key] === undefined) delete pkg[key];
  }

  const firstLocation = objects(artifact.locations)[0];
  const path = str(firstLocation, 'path');
  const location: FindingLocation | undefined = path ? { path } : undefined;

  const description =
    str(vuln, 'description') ??
    related.map((r) => str(r, 'description')).find((d): d is string => d !== undefined);

  const dataSource = str(vuln, 'dataSource');
  const references = [...new Set([...(dataSource ? [dataSource] : []), ...strings(vuln.urls)])];

  return finding({
    engine: ENGINE,
    type: 'sca',
    ruleId: id,
    title: version ? `${id} in ${name} ${version}` : `${id} in ${name}`,
    description,
    severity: normaliseSeverity(vuln.severity),
    location,
    package: pkg,
    cwe: cwesOf(vuln, related),
    references,
  });
}

export const grypeParser: ScannerParser = {
  engine: ENGINE,
  parse(text: string): Finding[] {
    const doc = parseJson(ENGINE, text);
    if (!isObject(doc)) throw new ScanParseError(ENGINE, 'expected a JSON object with a "matches" array');
    if (!Array.isArray(doc.matches)) throw new ScanParseError(ENGINE, 'no "matches" array at the top level');
    return doc.matches.map((m, i) => parseMatch(m, i));
  },
};

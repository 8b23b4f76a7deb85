/**
 * SARIF 2.1.0 logs (any tool) → findings.
 *
 * Each run names its tool in `tool.driver.name`; findings carry that name, lower-cased, as
 * their engine. Rules are looked up the way SARIF allows a result to point at them:
 * `rule.index`/`ruleIndex` into the rules of the driver (or of the extension
 * `rule.toolComponent.index` names), else by id.
 *
 * Left out, on purpose: results that are suppressed (e.g. `eslint-disable`, `nosemgrep`, a
 * suppression with status `accepted` or no status), results whose `kind` is `pass` or
 * `notApplicable` (not problems), and results whose `baselineState` is `absent` (fixed).
 */
import { finding, type Finding, type FindingLocation, type ScanType, type Severity } from '../finding.js';
import { isObject, parseJson, ScanParseError, int, str, type ScannerParser } from './types.js';

const ENGINE = 'sarif';
const MAX_TITLE = 200;

type Obj = Record<string, unknown>;

const LEVELS: Record<string, Severity> = { error: 'high', warning: 'medium', note: 'low', none: 'info' };

/** A CVSS-like score (`security-severity`, a string or number from 0 to 10) → severity. */
export function severityFromScore(value: unknown): Severity | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 10) return undefined;
  if (n >= 9) return 'critical';
  if (n >= 7) return 'high';
  if (n >= 4) return 'medium';
  if (n > 0) return 'low';
  return 'info';
}

/** What kind of scanner a SARIF driver name is, and so the findings' type. */
export function sarifScanType(engine: string, rule?: Obj): ScanType {
  const name = engine.toLowerCase();
  if (/gitleaks|trufflehog|secret/.test(name)) return 'secrets';
  if (/checkov|tfsec|kics|terrascan|tflint|cfn[-_ ]?(lint|nag)|hadolint|kube-?linter|kubesec|trivy[-_ ]?(config|iac)/.test(name)) {
    return 'misconfig';
  }
  if (/grype|osv[-_ ]?scanner|dependency[-_ ]?check/.test(name)) return 'sca';
  if (name === 'trivy') {
    // Trivy writes one driver for all its scanners and tags each rule with which one found it.
    const tags = stringList(objectAt(rule, 'properties')?.tags).map((t) => t.toLowerCase());
    if (tags.includes('vulnerability')) return 'sca';
    if (tags.includes('secret')) return 'secrets';
    return 'misconfig';
  }
  return 'sast';
}

function objectAt(obj: Obj | undefined, key: string): Obj | undefined {
  const v = obj?.[key];
  return isObject(v) ? v : undefined;
}

function arrayAt(obj: Obj | undefined, key: string): unknown[] {
  const v = obj?.[key];
  return Array.isArray(v) ? v : [];
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function indexAt(obj: Obj | undefined, key: string): number | undefined {
  const v = obj?.[key];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** `.text` of a SARIF message or multiformatMessageString (`markdown` when there is no text). */
function textOf(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const t = str(v, 'text') ?? str(v, 'markdown');
  return t !== undefined && t.trim() !== '' ? t.trim() : undefined;
}

function firstLine(text: string): string {
  const line = text.trim().split(/\r?\n|\r/, 1)[0]?.trim() ?? '';
  return line.length > MAX_TITLE ? `${line.slice(0, MAX_TITLE - 1)}…` : line;
}

/** `CWE-79`, `CWE-79: ...`, `external/cwe/cwe-079`, `cwe-079` → `CWE-79`. Requires the CWE word. */
function cweFromTag(tag: string): string | undefined {
  const m = /^(?:external\/cwe\/)?cwe[-_ ]?0*(\d+)\b/i.exec(tag.trim());
  return m ? `CWE-${Number(m[1])}` : undefined;
}

/** A taxon reference (rule relationship target or result taxa entry) that names a CWE. */
function cweFromTaxon(ref: unknown): string | undefined {
  if (!isObject(ref)) return undefined;
  const id = str(ref, 'id');
  if (id === undefined) return undefined;
  const fromId = cweFromTag(id);
  if (fromId) return fromId;
  const component = objectAt(ref, 'toolComponent');
  if (str(component, 'name')?.toUpperCase() === 'CWE' && /^\d+$/.test(id)) return `CWE-${Number(id)}`;
  return undefined;
}

/** The rules a result can point at: the driver's, and each extension's. */
interface RunRules {
  driver: Obj[];
  extensions: Obj[][];
  byId: Map<string, Obj>;
}

function rulesOfRun(tool: Obj): RunRules {
  const rulesOf = (component: unknown): Obj[] => (isObject(component) ? arrayAt(component, 'rules').filter(isObject) : []);
  const driver = rulesOf(tool.driver);
  const extensions = arrayAt(tool, 'extensions').map(rulesOf);
  const byId = new Map<string, Obj>();
  for (const rule of [...driver, ...extensions.flat()]) {
    const id = str(rule, 'id');
    if (id !== undefined && !byId.has(id)) byId.set(id, rule);
  }
  return { driver, extensions, byId };
}

function ruleOf(result: Obj, rules: RunRules): Obj | undefined {
  const ref = objectAt(result, 'rule');
  const index = indexAt(ref, 'index') ?? indexAt(result, 'ruleIndex');
  if (index !== undefined) {
    const extIndex = indexAt(objectAt(ref, 'toolComponent'), 'index');
    const list = extIndex !== undefined ? rules.extensions[extIndex] : rules.driver;
    const rule = list?.[index];
    if (rule) return rule;
  }
  const id = str(result, 'ruleId') ?? str(ref, 'id');
  return id !== undefined ? rules.byId.get(id) : undefined;
}

/** message.text, or the rule's messageStrings[message.id], with `{0}` placeholders filled in. */
function messageOf(result: Obj, rule: Obj | undefined): string | undefined {
  const message = objectAt(result, 'message');
  let text = textOf(message);
  const id = str(message, 'id');
  if (text === undefined && id !== undefined) text = textOf(objectAt(objectAt(rule, 'messageStrings'), id));
  if (text === undefined) return undefined;
  const args = arrayAt(message, 'arguments');
  return text.replace(/\{(\d+)\}/g, (whole, n: string) => {
    const arg = args[Number(n)];
    return typeof arg === 'string' ? arg : whole;
  });
}

function isSuppressed(result: Obj): boolean {
  return arrayAt(result, 'suppressions').some((s) => {
    if (!isObject(s)) return false;
    const status = str(s, 'status');
    return status === undefined || status === 'accepted';
  });
}

function severityOf(result: Obj, rule: Obj | undefined): Severity {
  // security-severity is a CVSS-like number: finer than the three SARIF levels, so it wins.
  const score =
    severityFromScore(objectAt(result, 'properties')?.['security-severity']) ??
    severityFromScore(objectAt(rule, 'properties')?.['security-severity']);
  if (score) return score;
  for (const level of [str(result, 'level'), str(objectAt(rule, 'defaultConfiguration'), 'level')]) {
    const severity = level !== undefined ? LEVELS[level.toLowerCase()] : undefined;
    if (severity) return severity;
  }
  // SARIF 2.1.0 §3.27.10: with no level anywhere, a `fail` result is a warning, any other kind is `none`.
  return isNonFailKind(result) ? 'info' : 'medium';
}

function isNonFailKind(result: Obj): boolean {
  const kind = str(result, 'kind');
  return kind !== undefined && kind !== 'fail';
}

function uriToPath(uri: string): string {
  let path = uri.replace(/^file:\/\//i, '');
  try {
    path = decodeURIComponent(path);
  } catch {
    // Not valid percent-encoding: keep it as written.
  }
  return path;
}

/** A location with only the positions that are known (no keys set to undefined). */
function locationAt(path: string, positions: Omit<FindingLocation, 'path'>): FindingLocation {
  const location: FindingLocation = { path };
  for (const [key, value] of Object.entries(positions) as [keyof typeof positions, number | undefined][]) {
    if (value !== undefined) location[key] = value;
  }
  return location;
}

function locationOf(result: Obj, artifacts: unknown[]): FindingLocation | undefined {
  const physical = arrayAt(result, 'locations')
    .filter(isObject)
    .map((l) => objectAt(l, 'physicalLocation'))
    .find((p) => p !== undefined);
  const artifact = objectAt(physical, 'artifactLocation');
  let uri = str(artifact, 'uri');
  const artifactIndex = indexAt(artifact, 'index');
  if (uri === undefined && artifactIndex !== undefined) {
    const entry = artifacts[artifactIndex];
    uri = isObject(entry) ? str(objectAt(entry, 'location'), 'uri') : undefined;
  }
  if (uri === undefined) return undefined;
  const region = objectAt(physical, 'region');
  return locationAt(uriToPath(uri), {
    startLine: int(region, 'startLine'),
    endLine: int(region, 'endLine'),
    startColumn: int(region, 'startColumn'),
    endColumn: int(region, 'endColumn'),
  });
}

function cwesOf(result: Obj, rule: Obj | undefined): string[] {
  const found = [
    ...stringList(objectAt(rule, 'properties')?.tags).map(cweFromTag),
    ...stringList(objectAt(result, 'properties')?.tags).map(cweFromTag),
    ...arrayAt(rule, 'relationships').map((r) => (isObject(r) ? cweFromTaxon(r.target) : undefined)),
    ...arrayAt(result, 'taxa').map(cweFromTaxon),
  ];
  return [...new Set(found.filter((c): c is string => c !== undefined))];
}

/** The full message when the title had to cut it, then the rule's own description. */
function descriptionOf(title: string, message: string | undefined, rule: Obj | undefined): string | undefined {
  const parts: string[] = [];
  if (message !== undefined && message !== title) parts.push(message);
  const ruleText = textOf(rule?.fullDescription) ?? textOf(rule?.help);
  if (ruleText !== undefined && ruleText !== title && ruleText !== message) parts.push(ruleText);
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

function parseRun(run: unknown, r: number): Finding[] {
  const where = `runs[${r}]`;
  if (!isObject(run)) throw new ScanParseError(ENGINE, `${where} is not an object`);
  const tool = objectAt(run, 'tool');
  const driver = objectAt(tool, 'driver');
  if (!tool || !driver) throw new ScanParseError(ENGINE, `${where} has no tool.driver`);
  const engine = str(driver, 'name')?.trim().toLowerCase() || ENGINE;

  const results = run.results ?? [];
  if (!Array.isArray(results)) throw new ScanParseError(ENGINE, `${where}.results is not an array`);
  const rules = rulesOfRun(tool);
  const artifacts = arrayAt(run, 'artifacts');

  const out: Finding[] = [];
  results.forEach((result, i) => {
    if (!isObject(result)) throw new ScanParseError(ENGINE, `${where}.results[${i}] is not an object`);
    const kind = str(result, 'kind');
    if (kind === 'pass' || kind === 'notApplicable') return;
    if (str(result, 'baselineState') === 'absent') return;
    if (isSuppressed(result)) return;

    const rule = ruleOf(result, rules);
    const ruleId = str(result, 'ruleId') ?? str(objectAt(result, 'rule'), 'id') ?? str(rule, 'id') ?? 'unknown';
    const message = messageOf(result, rule);
    const fallback = textOf(rule?.shortDescription) ?? str(rule, 'name') ?? ruleId;
    const title = (message !== undefined ? firstLine(message) : '') || firstLine(fallback) || ruleId;
    const helpUri = str(rule, 'helpUri');

    out.push(
      finding({
        engine,
        type: sarifScanType(engine, rule),
        ruleId,
        title,
        description: descriptionOf(title, message, rule),
        severity: severityOf(result, rule),
        location: locationOf(result, artifacts),
        cwe: cwesOf(result, rule),
        references: helpUri !== undefined ? [helpUri] : undefined,
      }),
    );
  });
  return out;
}

export const sarifParser: ScannerParser = {
  engine: ENGINE,
  parse(text: string): Finding[] {
    const doc = parseJson(ENGINE, text);
    if (!isObject(doc) || !Array.isArray(doc.runs)) {
      throw new ScanParseError(ENGINE, 'not a SARIF log (expected an object with a "runs" array)');
    }
    const version = str(doc, 'version');
    if (version === undefined || !version.startsWith('2.1')) {
      throw new ScanParseError(ENGINE, `unsupported SARIF version ${JSON.stringify(doc.version ?? null)} (expected 2.1.0)`);
    }
    return doc.runs.flatMap(parseRun);
  },
};

/**
 * The normalised finding every scanner parser produces, whatever the engine: one shape for
 * SAST results, vulnerable packages, leaked secrets, licence detections and misconfigurations,
 * so that a scan job can merge, deduplicate and export them (JSON, SARIF 2.1.0).
 *
 * A finding never carries a secret's value: parsers keep only a redacted hint.
 */
import { createHash } from 'node:crypto';

export const SCAN_TYPES = ['sast', 'sca', 'secrets', 'licence', 'misconfig'] as const;
export type ScanType = (typeof SCAN_TYPES)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface FindingLocation {
  /** Repository-relative path, `/` separated, without a leading `./` or `/`. */
  path: string;
  startLine?: number;
  endLine?: number;
  startColumn?: number;
  endColumn?: number;
}

export interface FindingPackage {
  name: string;
  version?: string;
  /** Versions that fix it, as the engine states them (e.g. `1.2.3, 2.0.1`). */
  fixedVersion?: string;
  purl?: string;
  /** `npm`, `pypi`, `maven`, `apk`, `deb`... as the engine names it. */
  ecosystem?: string;
}

export interface Finding {
  /** The engine that reported it: `semgrep`, `trivy`, `grype`, `trufflehog`, `gitleaks`, `scancode`, or a SARIF tool's name. */
  engine: string;
  type: ScanType;
  /** Rule id, vulnerability id (CVE/GHSA), secret detector, or licence key. */
  ruleId: string;
  /** One line. */
  title: string;
  /** Longer text when the engine gives one. */
  description?: string;
  severity: Severity;
  location?: FindingLocation;
  package?: FindingPackage;
  /** `CWE-79` form. */
  cwe?: string[];
  /** SPDX licence expression (licence findings). */
  licence?: string;
  /** Secret findings: whether the engine verified it live, and a redacted hint of the value. */
  secret?: { verified?: boolean; redacted: string };
  /** Advisory and documentation URLs. */
  references?: string[];
  /** Stable identity across engines and runs (see fingerprintOf). */
  fingerprint: string;
}

/** A finding as a parser builds it; `fingerprint` is added by `finding()`. */
export type FindingInput = Omit<Finding, 'fingerprint'>;

/** Map an engine's severity word (any case) to ours; unknown words are `info`. */
export function normaliseSeverity(word: unknown): Severity {
  const w = typeof word === 'string' ? word.trim().toLowerCase() : '';
  switch (w) {
    case 'critical':
      return 'critical';
    case 'high':
    case 'error':
      return 'high';
    case 'medium':
    case 'moderate':
    case 'warning':
      return 'medium';
    case 'low':
    case 'note':
      return 'low';
    default:
      return 'info';
  }
}

/** `./a/b`, `/a/b`, `a\\b` → `a/b`. */
export function normalisePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

/**
 * What makes two findings the same problem, whichever engine saw it: the type, the rule or
 * vulnerability id, where it is (path and first line), and for packages name and version.
 * Titles, descriptions and severities are left out (engines word and rate them differently).
 */
export function fingerprintOf(f: FindingInput): string {
  const identity = [
    f.type,
    f.ruleId.toLowerCase(),
    f.location ? normalisePath(f.location.path) : '',
    f.location?.startLine ?? '',
    f.package?.name.toLowerCase() ?? '',
    f.package?.version ?? '',
    f.licence ?? '',
    f.secret?.redacted ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
}

/** Drop undefined fields and empty lists, normalise the path, add the fingerprint. */
export function finding(input: FindingInput): Finding {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  const f = out as unknown as FindingInput;
  if (f.location) f.location = { ...f.location, path: normalisePath(f.location.path) };
  return { ...f, fingerprint: fingerprintOf(f) };
}

/**
 * A secret reduced to a hint that identifies it to whoever holds it without disclosing
 * it: its length and a short hash, e.g. `[40 chars, sha256:1f2e3d4c]`.
 */
export function redactSecret(value: string): string {
  const digest = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return `[${value.length} chars, sha256:${digest}]`;
}

/** `79`, `CWE-79`, `CWE-79: Improper...` → `CWE-79`; anything else undefined. */
export function normaliseCwe(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return `CWE-${value}`;
  if (typeof value !== 'string') return undefined;
  const m = /^(?:CWE-)?(\d+)\b/i.exec(value.trim());
  return m ? `CWE-${m[1]}` : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v.slice(0, 4000) : undefined;
}

function optionalCount(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string').map((s) => s.slice(0, 2000)).slice(0, 100) : undefined;
}

/**
 * A finding received from elsewhere (an agent's report): only the known fields, each of the
 * right type and bounded length, with a fingerprint recomputed here rather than trusted.
 * Undefined when the required fields are missing or wrong.
 */
export function sanitiseFinding(raw: unknown): Finding | undefined {
  if (!isRecord(raw)) return undefined;
  const engine = optionalString(raw.engine);
  const ruleId = optionalString(raw.ruleId);
  const title = optionalString(raw.title);
  if (!engine || !ruleId || !title) return undefined;
  if (!(SCAN_TYPES as readonly unknown[]).includes(raw.type) || !(SEVERITIES as readonly unknown[]).includes(raw.severity)) return undefined;
  const input: FindingInput = { engine, type: raw.type as ScanType, ruleId, title, severity: raw.severity as Severity };
  const description = optionalString(raw.description);
  if (description) input.description = description;
  if (isRecord(raw.location) && optionalString(raw.location.path)) {
    const l = raw.location;
    input.location = { path: optionalString(l.path)! };
    for (const k of ['startLine', 'endLine', 'startColumn', 'endColumn'] as const) {
      const n = optionalCount(l[k]);
      if (n !== undefined) input.location[k] = n;
    }
  }
  if (isRecord(raw.package) && optionalString(raw.package.name)) {
    const p = raw.package;
    input.package = { name: optionalString(p.name)! };
    for (const k of ['version', 'fixedVersion', 'purl', 'ecosystem'] as const) {
      const v = optionalString(p[k]);
      if (v !== undefined) input.package[k] = v;
    }
  }
  const cwe = strings(raw.cwe);
  if (cwe) input.cwe = cwe;
  const licence = optionalString(raw.licence);
  if (licence) input.licence = licence;
  if (isRecord(raw.secret) && optionalString(raw.secret.redacted)) {
    input.secret = { redacted: optionalString(raw.secret.redacted)!.slice(0, 100), ...(typeof raw.secret.verified === 'boolean' ? { verified: raw.secret.verified } : {}) };
  }
  const references = strings(raw.references);
  if (references) input.references = references;
  return finding(input);
}

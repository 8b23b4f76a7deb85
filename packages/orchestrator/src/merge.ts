/**
 * One list of findings from many engines and hosts: the same problem reported twice (two
 * engines, two agents scanning the same source, a duplicated line) becomes one entry that
 * lists every engine which saw it and keeps the highest severity any of them gave.
 */
import { SEVERITIES, type Finding, type Severity } from './finding.js';

export interface MergedFinding extends Finding {
  /** Every engine that reported it, sorted. */
  engines: string[];
  /** How many reports were merged into this one. */
  occurrences: number;
}

const RANK: Record<Severity, number> = Object.fromEntries(SEVERITIES.map((s, i) => [s, SEVERITIES.length - i])) as Record<Severity, number>;

export function severityRank(s: Severity): number {
  return RANK[s];
}

/** Merge by fingerprint. Order: severity (highest first), then type, path, line and rule. */
export function mergeFindings(findings: Iterable<Finding>): MergedFinding[] {
  const byPrint = new Map<string, MergedFinding>();
  for (const f of findings) {
    const seen = byPrint.get(f.fingerprint);
    if (!seen) {
      byPrint.set(f.fingerprint, { ...f, engines: [f.engine], occurrences: 1 });
      continue;
    }
    seen.occurrences++;
    if (!seen.engines.includes(f.engine)) seen.engines = [...seen.engines, f.engine].sort();
    if (RANK[f.severity] > RANK[seen.severity]) seen.severity = f.severity;
    seen.description ??= f.description;
    if (f.references) seen.references = [...new Set([...(seen.references ?? []), ...f.references])];
    if (f.cwe) seen.cwe = [...new Set([...(seen.cwe ?? []), ...f.cwe])].sort();
    if (f.package && seen.package) seen.package = { ...f.package, ...seen.package };
  }
  return [...byPrint.values()].sort(compareFindings);
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    RANK[b.severity] - RANK[a.severity] ||
    cmp(a.type, b.type) ||
    cmp(a.location?.path ?? '', b.location?.path ?? '') ||
    (a.location?.startLine ?? 0) - (b.location?.startLine ?? 0) ||
    cmp(a.ruleId, b.ruleId) ||
    cmp(a.fingerprint, b.fingerprint)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Counts per severity, every severity present (zero when none). */
export function severityCounts(findings: Iterable<Finding>): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

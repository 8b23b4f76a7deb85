/**
 * Findings as a SARIF 2.1.0 log (OASIS), the format code-scanning dashboards import: one
 * run per engine, one rule per rule id with the highest `security-severity` its results
 * have, and our fingerprint as a partial fingerprint so a dashboard tracks a finding from
 * one scan to the next.
 */
import type { Log, ReportingDescriptor, Result, Run } from 'sarif';
import type { Finding, Severity } from './finding.js';
import type { MergedFinding } from './merge.js';
import { VERSION } from '@ctrl-exec/core';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
/** The key of our fingerprint in `partialFingerprints`. */
export const FINGERPRINT_KEY = 'ctrlExecFindingHash/v1';

const LEVEL: Record<Severity, Result.level> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** The CVSS-like score code-scanning tools sort by (rule property `security-severity`). */
const SCORE: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '2.0', info: '0.0' };

export interface SarifOptions {
  /** Shown as each run's `automationDetails.id` (e.g. the scan job id). */
  automationId?: string;
}

function engineOf(f: Finding | MergedFinding): string {
  return 'engines' in f && f.engines.length > 0 ? f.engines[0]! : f.engine;
}

function ruleFor(f: Finding): ReportingDescriptor {
  const tags = [f.type, ...(f.cwe ?? [])];
  return {
    id: f.ruleId,
    shortDescription: { text: f.title },
    ...(f.description ? { fullDescription: { text: f.description } } : {}),
    ...(f.references?.[0] ? { helpUri: f.references[0] } : {}),
    properties: { tags, 'security-severity': SCORE[f.severity] },
  };
}

function resultFor(f: Finding | MergedFinding, ruleIndex: number): Result {
  const properties: Record<string, unknown> = { severity: f.severity, type: f.type };
  if (f.package) properties.package = f.package;
  if (f.licence) properties.licence = f.licence;
  if (f.secret) properties.secret = f.secret;
  if ('engines' in f) {
    properties.engines = f.engines;
    properties.occurrences = f.occurrences;
  }
  const result: Result = {
    ruleId: f.ruleId,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: f.title },
    partialFingerprints: { [FINGERPRINT_KEY]: f.fingerprint },
    properties,
  };
  if (f.location) {
    const region: Record<string, number> = {};
    if (f.location.startLine) region.startLine = f.location.startLine;
    if (f.location.endLine && f.location.endLine >= (f.location.startLine ?? 1)) region.endLine = f.location.endLine;
    if (f.location.startColumn) region.startColumn = f.location.startColumn;
    if (f.location.endColumn) region.endColumn = f.location.endColumn;
    result.locations = [
      {
        physicalLocation: {
          artifactLocation: { uri: encodeURI(f.location.path) },
          ...(region.startLine ? { region } : {}),
        },
      },
    ];
  }
  return result;
}

export function toSarif(findings: Iterable<Finding | MergedFinding>, options: SarifOptions = {}): Log {
  const runs = new Map<string, { rules: ReportingDescriptor[]; index: Map<string, number>; results: Result[] }>();
  for (const f of findings) {
    const engine = engineOf(f);
    let run = runs.get(engine);
    if (!run) {
      run = { rules: [], index: new Map(), results: [] };
      runs.set(engine, run);
    }
    let ruleIndex = run.index.get(f.ruleId);
    if (ruleIndex === undefined) {
      ruleIndex = run.rules.length;
      run.index.set(f.ruleId, ruleIndex);
      run.rules.push(ruleFor(f));
    } else {
      const rule = run.rules[ruleIndex]!;
      const props = rule.properties as { 'security-severity': string };
      if (Number(SCORE[f.severity]) > Number(props['security-severity'])) props['security-severity'] = SCORE[f.severity];
    }
    run.results.push(resultFor(f, ruleIndex));
  }
  const out: Run[] = [...runs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([engine, run]) => ({
      tool: { driver: { name: engine, rules: run.rules } },
      ...(options.automationId ? { automationDetails: { id: options.automationId } } : {}),
      results: run.results,
      properties: { producer: `ctrl-exec ${VERSION}` },
    }));
  return { $schema: SARIF_SCHEMA_URI, version: '2.1.0', runs: out };
}


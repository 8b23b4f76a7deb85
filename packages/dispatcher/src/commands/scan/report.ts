/**
 * Reading what each host's scan runner printed (the JSON report of `ctrl-exec-scan`) and
 * rendering the merged result for a terminal.
 */
import { SEVERITIES, severityCounts, type MergedFinding, type ScanReport, type Severity } from '@ctrl-exec/orchestrator';
import { row } from '../../cli/format.js';
import type { HostResult } from '../../engine/index.js';

export interface HostScan {
  host: string;
  ok: boolean;
  /** What was scanned, as the runner describes it. */
  source?: string;
  engines?: ScanReport['engines'];
  error?: string;
  findings: ScanReport['findings'];
}

/** One host's result: the runner's report when it printed one, else why not. */
export function hostScan(result: HostResult): HostScan {
  const host = result.host;
  if (typeof result.error === 'string' && result.error !== '' && typeof result.stdout !== 'string') {
    return { host, ok: false, error: result.error, findings: [] };
  }
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  if (result.truncated === true) {
    return { host, ok: false, error: "scan report truncated by the agent: raise max_output= for the scan script in the agent's scripts.conf", findings: [] };
  }
  let report: ScanReport;
  try {
    report = JSON.parse(stdout) as ScanReport;
  } catch {
    const stderr = typeof result.stderr === 'string' ? result.stderr.trim().split('\n').slice(-1)[0] : '';
    return { host, ok: false, error: `no scan report (exit ${String(result.exit)})${stderr ? `: ${stderr.slice(0, 300)}` : ''}`, findings: [] };
  }
  if (report === null || typeof report !== 'object' || !Array.isArray(report.findings)) {
    return { host, ok: false, error: 'unreadable scan report', findings: [] };
  }
  return {
    host,
    ok: report.ok === true,
    ...(report.source ? { source: report.source } : {}),
    engines: report.engines ?? {},
    ...(report.error ? { error: report.error } : {}),
    findings: report.findings,
  };
}

function engineSummary(engines: ScanReport['engines'] | undefined): string {
  return Object.entries(engines ?? {})
    .map(([name, e]) => (e.ok ? `${name} ${e.findings ?? 0}` : `${name} FAILED (${e.error ?? 'unknown error'})`))
    .join(', ');
}

export function countsLine(findings: readonly MergedFinding[]): string {
  const counts = severityCounts(findings);
  return `Findings: ${findings.length} (${SEVERITIES.map((s) => `${s} ${counts[s]}`).join(', ')})`;
}

function where(f: MergedFinding): string {
  const loc = f.location ? `${f.location.path}${f.location.startLine ? `:${f.location.startLine}` : ''}` : '';
  const pkg = f.package ? `${f.package.name}${f.package.version ? ` ${f.package.version}` : ''}` : '';
  return [loc, pkg && `(${pkg})`].filter(Boolean).join(' ');
}

export function scanTextLines(hosts: readonly HostScan[], findings: readonly MergedFinding[]): string[] {
  const lines: string[] = [];
  for (const h of hosts) {
    lines.push(`==> ${h.host}  [${h.ok ? 'OK' : 'FAIL'}]${h.source ? `  ${h.source}` : ''}`);
    const engines = engineSummary(h.engines);
    if (engines) lines.push(`    ${engines}`);
    if (h.error) lines.push(`    ERROR: ${h.error}`);
  }
  lines.push('', countsLine(findings));
  if (findings.length > 0) {
    lines.push(row(['SEVERITY', 'TYPE', 'RULE', 'WHERE'], [9, 10, 40]));
    for (const f of findings) lines.push(row([f.severity, f.type, f.ruleId, where(f)], [9, 10, 40]));
  }
  return lines;
}

/** True when some finding is at `threshold` or worse. */
export function reachesThreshold(findings: readonly MergedFinding[], threshold: Severity): boolean {
  const limit = SEVERITIES.indexOf(threshold);
  return findings.some((f) => SEVERITIES.indexOf(f.severity) <= limit);
}

/** Rendering scan results for a terminal. */
import { SEVERITIES, severityCounts, type MergedFinding, type ScanReport } from '@ctrl-exec/orchestrator';
import { row } from '../../cli/format.js';
import type { HostScan } from '../../scans/host-scan.js';

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
    lines.push(`==> ${h.host}  [${h.running ? 'running' : h.ok ? 'OK' : 'FAIL'}]${h.source ? `  ${h.source}` : ''}`);
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

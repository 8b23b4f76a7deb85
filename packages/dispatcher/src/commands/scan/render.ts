/** What scan and scan-status share on the command line: `--fail-on`, `--sarif`, the text rendering. */
import { UsageError, writeFileAtomicSync } from '@ctrl-exec/core';
import { SEVERITIES, severityCounts, toSarif, type MergedFinding, type ScanReport, type Severity } from '@ctrl-exec/orchestrator';
import type { Context } from '../../cli/context.js';
import { row } from '../../cli/format.js';
import { reachesThreshold, type HostScan } from '../../scans/host-scan.js';

/** Exit status when the scans ran but a finding reached --fail-on. */
export const EXIT_FINDINGS = 3;

/** `--fail-on <severity>`, checked. */
export function failOnOption(opts: Record<string, unknown>): Severity | undefined {
  if (opts.failOn === undefined) return undefined;
  const value = String(opts.failOn);
  if (!(SEVERITIES as readonly string[]).includes(value)) throw new UsageError(`--fail-on: one of ${SEVERITIES.join(', ')}`);
  return value as Severity;
}

/** Write the merged findings of scan job `id` as SARIF 2.1.0 (atomically). */
export function writeSarifFile(path: string, findings: readonly MergedFinding[], id: string): void {
  writeFileAtomicSync(path, `${JSON.stringify(toSarif(findings, { automationId: `ctrl-exec-scan/${id}` }), null, 2)}\n`, { mode: 0o644 });
}

/** EXIT_FINDINGS (and why, on stderr) when a finding reaches `failOn`, else 0. */
export function findingsExit(ctx: Context, findings: readonly MergedFinding[], failOn: Severity | undefined): number {
  if (failOn === undefined || !reachesThreshold(findings, failOn)) return 0;
  if (!ctx.json) ctx.err(`${countsLine(findings)}: at or above ${failOn}`);
  return EXIT_FINDINGS;
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

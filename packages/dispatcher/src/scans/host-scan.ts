/**
 * What each host's scan runner printed (the JSON report of `ctrl-exec-scan`), read from a
 * sync run result or an async run record, and the state of a whole scan job.
 */
import { mergeFindings, sanitiseFinding, severityRank, type Finding, type MergedFinding, type ScanReport, type Severity } from '@ctrl-exec/orchestrator';
import { isPendingState, type AsyncRunRecord } from '@ctrl-exec/core';
import type { HostResult } from '../engine/index.js';

export interface HostScan {
  host: string;
  ok: boolean;
  /** Async jobs: the agent has not finished yet. */
  running?: boolean;
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
  // An agent's report is input like any other: keep well-formed findings only.
  const findings = report.findings.map(sanitiseFinding).filter((f): f is Finding => f !== undefined);
  const dropped = report.findings.length - findings.length;
  const errors = [typeof report.error === 'string' ? report.error : '', dropped > 0 ? `${dropped} malformed finding(s) ignored` : ''].filter(Boolean);
  return {
    host,
    ok: report.ok === true && dropped === 0,
    ...(typeof report.source === 'string' ? { source: report.source } : {}),
    engines: report.engines !== null && typeof report.engines === 'object' ? report.engines : {},
    ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
    findings,
  };
}

/** True when some finding is at `threshold` or worse. */
export function reachesThreshold(findings: readonly MergedFinding[], threshold: Severity): boolean {
  return findings.some((f) => severityRank(f.severity) >= severityRank(threshold));
}

/** The scan request kept in the run record of an async scan job (beside upstream's fields). */
export interface ScanJobInfo {
  engines: string[];
  /** The runner arguments naming the source (`--source ... --url/--path ...`). */
  source: string[];
}

export type ScanJobStatus = 'running' | 'completed' | 'partial' | 'failed';

export interface ScanJobView {
  id: string;
  status: ScanJobStatus;
  engines: string[];
  hosts: HostScan[];
  /** Merged findings of the hosts that have finished. */
  findings: MergedFinding[];
}

/** The run record of an async scan job: upstream's async record plus `scan`. */
export function withScanInfo(record: AsyncRunRecord, info: ScanJobInfo): AsyncRunRecord {
  return { ...record, scan: info } as AsyncRunRecord;
}

/** An async run record carrying a scan job. */
export function scanInfoOf(record: { scan?: unknown }): ScanJobInfo | undefined {
  const s = record.scan as Partial<ScanJobInfo> | undefined;
  return s && Array.isArray(s.engines) && Array.isArray(s.source) ? { engines: s.engines.map(String), source: s.source.map(String) } : undefined;
}

/** The job as it stands in its (aggregated) run record. */
export function scanJobView(record: AsyncRunRecord, info: ScanJobInfo): ScanJobView {
  const hosts: HostScan[] = Object.entries(record.hosts).map(([host, state]) => {
    if (isPendingState(state.status)) return { host, ok: false, running: true, findings: [] };
    if (state.status === 'done') {
      return hostScan({ host, rtt: '', exit: state.exit ?? -1, stdout: state.stdout ?? '', stderr: state.stderr ?? '' });
    }
    const why = state.status === 'expired' ? 'result expired on the agent' : (state.error ?? state.status);
    return { host, ok: false, error: why, findings: [] };
  });
  const finished = hosts.filter((h) => !h.running);
  const status: ScanJobStatus =
    finished.length < hosts.length ? 'running' : hosts.every((h) => h.ok) ? 'completed' : hosts.some((h) => h.ok || h.findings.length > 0) ? 'partial' : 'failed';
  return { id: record.reqid, status, engines: info.engines, hosts, findings: mergeFindings(finished.flatMap((h) => h.findings)) };
}

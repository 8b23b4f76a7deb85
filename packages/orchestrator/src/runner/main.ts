/**
 * `ctrl-exec-scan`: the agent-side scan runner, an allowlisted script. It fetches the source
 * once, runs the requested engines on it in parallel and prints one JSON report on stdout:
 *
 *   {"ok":true,"source":"git https://...@<commit>","engines":{"semgrep":{"ok":true,"findings":3,"duration_ms":812}},
 *    "findings":[<normalised findings>]}
 *
 * Exit 0 when every engine ran, 1 when some failed (the report says which), 2 when nothing
 * could run (bad request, configuration or source). Its configuration comes from
 * $CTRL_EXEC_SCAN_CONFIG (set by the operator's wrapper: the agent scrubs the environment,
 * so a request cannot choose it) or /etc/ctrl-exec-agent/scan.conf; every argument is
 * the request's.
 */
import { existsSync } from 'node:fs';
import type { Finding } from '../finding.js';
import { ENGINE_NAMES } from './engines.js';
import { JobArgsError, parseJobArgs } from './job-args.js';
import { runEngines } from './run-engines.js';
import { defaultScanConfig, loadScanConfig, ScanConfigError, type ScanConfig } from './scan-config.js';
import { prepareSource, SourceError } from './workspace.js';

export const DEFAULT_SCAN_CONFIG = '/etc/ctrl-exec-agent/scan.conf';

export interface RunnerIO {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
}

export interface ScanReport {
  ok: boolean;
  source?: string;
  engines: Record<string, { ok: boolean; findings?: number; error?: string; duration_ms: number }>;
  findings: Finding[];
  error?: string;
}

function configFrom(env: NodeJS.ProcessEnv): ScanConfig {
  const path = env.CTRL_EXEC_SCAN_CONFIG || DEFAULT_SCAN_CONFIG;
  if (!env.CTRL_EXEC_SCAN_CONFIG && !existsSync(path)) return defaultScanConfig();
  return loadScanConfig(path);
}

export async function runScan(argv: readonly string[], io: RunnerIO): Promise<number> {
  const fail = (error: string): number => {
    const report: ScanReport = { ok: false, engines: {}, findings: [], error };
    io.stdout(`${JSON.stringify(report)}\n`);
    return 2;
  };
  let config: ScanConfig;
  try {
    config = configFrom(io.env);
  } catch (err) {
    return fail(err instanceof ScanConfigError ? `scan config: ${err.message}` : `scan config: ${(err as Error).message}`);
  }
  let job;
  try {
    job = parseJobArgs(argv, ENGINE_NAMES);
  } catch (err) {
    if (err instanceof JobArgsError) return fail(err.message);
    throw err;
  }
  let workspace;
  try {
    workspace = await prepareSource(job.source, config, io.env);
  } catch (err) {
    if (err instanceof SourceError) return fail(err.message);
    throw err;
  }
  try {
    const outcomes = await runEngines(job.engines, workspace.dir, config, io.env);
    const report: ScanReport = { ok: outcomes.every((o) => o.ok), source: workspace.description, engines: {}, findings: [] };
    for (const o of outcomes) {
      if (o.ok) {
        report.engines[o.engine] = { ok: true, findings: o.findings.length, duration_ms: o.durationMs };
        report.findings.push(...o.findings);
      } else {
        report.engines[o.engine] = { ok: false, error: o.error, duration_ms: o.durationMs };
      }
    }
    io.stdout(`${JSON.stringify(report)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    workspace.dispose();
  }
}

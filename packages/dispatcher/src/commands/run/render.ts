/** Text renderings of run, async submit and status results (wire-protocol §11.2, features 43, 50, 51). */
import type { AsyncHostState, RunRecord } from '@ctrl-exec/core';
import type { HostResult } from '../../engine/index.js';

/** Perl's `%d` of a value that should be an exit code. */
function exitOf(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : -1;
}

function hasText(v: unknown): v is string {
  return typeof v === 'string' && /\S/.test(v);
}

function hostLabel(r: HostResult | Record<string, unknown>): string {
  const host = typeof r.host === 'string' ? r.host : '?';
  return typeof r.reported_hostname === 'string' && r.reported_hostname !== '' ? `${host} (${r.reported_hostname})` : host;
}

/** stdout as the script wrote it (ending with a newline), when it has any text. */
function stdoutLines(stdout: unknown): string[] {
  if (!hasText(stdout)) return [];
  return [stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout];
}

/** Every line of stderr prefixed, so a multi-line stderr stays visibly stderr. */
function stderrLines(stderr: unknown): string[] {
  if (!hasText(stderr)) return [];
  const text = stderr.endsWith('\n') ? stderr.slice(0, -1) : stderr;
  return text.split('\n').map((line) => `    STDERR: ${line}`);
}

/** `==> host[ (reported)]  [OK|FAIL  exit:N  <rtt>  req:<reqid>]`, ERROR, stdout, STDERR. */
export function runResultLines(results: readonly (HostResult | Record<string, unknown>)[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const exit = exitOf(r.exit);
    const rtt = typeof r.rtt === 'string' ? r.rtt : '';
    const reqid = typeof r.reqid === 'string' ? r.reqid : '';
    lines.push(`==> ${hostLabel(r)}  [${exit === 0 ? 'OK' : 'FAIL'}  exit:${exit}  ${rtt}  req:${reqid}]`);
    if (typeof r.error === 'string' && r.error !== '') lines.push(`    ERROR: ${r.error}`);
    lines.push(...stdoutLines(r.stdout), ...stderrLines(r.stderr));
  }
  return lines;
}

/** `Submitted async run  req:<reqid>`, one line per host, then where to look next. */
export function asyncSubmitLines(reqid: string, results: readonly HostResult[]): string[] {
  const lines = [`Submitted async run  req:${reqid}`];
  for (const r of results) {
    const status = typeof r.status === 'string' ? r.status : 'error';
    if (status === 'accepted') lines.push(`==> ${hostLabel(r)}  [accepted  ${r.rtt}]`);
    else if (status === 'busy') lines.push(`==> ${hostLabel(r)}  [BUSY: ${typeof r.error === 'string' ? r.error : 'already running'}]`);
    else lines.push(`==> ${hostLabel(r)}  [ERROR: ${typeof r.error === 'string' ? r.error : 'submit failed'}]`);
  }
  lines.push(`Check progress with: ctrl-exec status ${reqid}`);
  return lines;
}

function asyncHostLines(host: string, h: AsyncHostState): string[] {
  const status = typeof h.status === 'string' && h.status !== '' ? h.status : 'unknown';
  if (status === 'done') {
    return [`==> ${host}  [done  exit:${exitOf(h.exit)}]`, ...stdoutLines(h.stdout), ...stderrLines(h.stderr)];
  }
  if (status === 'accepted' || status === 'running') {
    const lines = [`==> ${host}  [${status}]`];
    if (typeof h.fetch_error === 'string') lines.push(`    (fetch pending: ${h.fetch_error})`);
    return lines;
  }
  const lines = [`==> ${host}  [${status.toUpperCase()}]`];
  if (typeof h.error === 'string' && h.error !== '') lines.push(`    ${h.error}`);
  return lines;
}

/** `Request <reqid>  (script: <s>)  [PENDING|COMPLETE]`, then each host (sync records like `run`). */
export function statusLines(record: RunRecord): string[] {
  const lines = [`Request ${record.reqid}  (script: ${record.script || '?'})  [${record.complete ? 'COMPLETE' : 'PENDING'}]`];
  if (record.mode === 'sync') return lines.concat(runResultLines(record.results));
  for (const host of Object.keys(record.hosts).sort()) lines.push(...asyncHostLines(host, record.hosts[host]!));
  return lines;
}

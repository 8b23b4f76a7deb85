import { SCRIPT_NAME, UsageError, toCtrlExecError } from '@ctrl-exec/core';
import { ENGINE_NAMES, SCAN_TYPES, SEVERITIES, mergeFindings } from '@ctrl-exec/orchestrator';
import type { CommandSpec } from '../../cli/command.js';
import type { Context } from '../../cli/context.js';
import { asyncRecordFromSubmit, checkHostCount, type Dispatcher, type ResolvedHost } from '../../engine/index.js';
import { hostScan, withScanInfo } from '../../scans/host-scan.js';
import { planScan, type ScanPlan, type ScanRequest } from '../../scans/request.js';
import { authorizeCli, credentials, dispatcherFor, hostRefs, lockForCli, Progress, splitPassthrough } from '../run/support.js';
import { storeOf } from '../status/aggregate.js';
import { EXIT_FINDINGS, failOnOption, findingsExit, scanTextLines, writeSarifFile } from './render.js';

const USAGE = 'Usage: ctrl-exec scan <host>[:<port>]... (--git <url> [--ref <ref>] | --archive <url> | --path <dir>) [--types sast,sca,secrets,licence] [--engines a,b]';

function list(value: unknown): string[] | undefined {
  return typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter(Boolean) : undefined;
}

/** The scan request of the command line. */
export function requestFromOptions(opts: Record<string, unknown>): ScanRequest {
  const text = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  const request: ScanRequest = {};
  const types = list(opts.types);
  const engines = list(opts.engines);
  if (types) request.types = types;
  if (engines) request.engines = engines;
  for (const k of ['git', 'ref', 'archive', 'path'] as const) {
    const v = text(k);
    if (v !== undefined) request[k] = v;
  }
  return request;
}

async function submitAsync(ctx: Context, dispatcher: Dispatcher, hosts: ResolvedHost[], script: string, plan: ScanPlan, cred: { username: string; token: string }): Promise<number> {
  const { reqid, results } = await dispatcher.runAsync({ hosts, script, args: plan.args, ...cred });
  const record = asyncRecordFromSubmit({ reqid, script, refs: hosts.map((h) => h.ref), results });
  try {
    storeOf(ctx).put(withScanInfo(record, { engines: plan.engines, source: plan.source }));
  } catch (err) {
    const e = toCtrlExecError(err, 'CE_ERR_FS');
    ctx.log({ action: 'run-store-fail', error: e.message, reqid, level: 'warning' });
    ctx.err(`Error: could not record the scan job (${e.message}); its results cannot be collected`);
    return 1;
  }
  ctx.log({ action: 'scan-submit', engines: plan.engines.join(','), hosts: hosts.length, reqid });
  const accepted = results.filter((r) => r.status === 'accepted').length;
  if (ctx.json) {
    ctx.printJson({ ok: 1, id: reqid, status: 'running', engines: plan.engines, results });
  } else {
    ctx.out(`Submitted scan job ${reqid} (${plan.engines.join(', ')}) on ${accepted}/${hosts.length} host(s)`);
    for (const r of results) ctx.out(`  ${r.host}  [${String(r.status)}]${typeof r.error === 'string' ? `  ${r.error}` : ''}`);
    ctx.out(`Follow it with: ctrl-exec scan-status ${reqid} --wait`);
  }
  return accepted > 0 ? 0 : 1;
}

export const scanCommand: CommandSpec = {
  name: 'scan',
  summary: 'run security scans (SAST, SCA, secrets, licences) on agents and merge the findings',
  configure(cmd) {
    cmd
      .argument('[hosts...]', '<host>[:<port>]...')
      .option('--tags <filter>', "also every agent whose cached tags match k=v[,k2=v2], e.g. role=scanner")
      .option('--git <url>', 'scan a git repository (https://, ssh:// or user@host:path)')
      .option('--ref <ref>', 'branch, tag or commit for --git (default: the remote HEAD)')
      .option('--archive <url>', 'scan a .tar/.tar.gz downloaded over https')
      .option('--path <dir>', "scan a directory on the agent (inside its scan.conf scan_roots)")
      .option('--types <list>', `scan types: ${SCAN_TYPES.join(',')} (default sast,sca,secrets,licence)`)
      .option('--engines <list>', `engines: ${ENGINE_NAMES.join(',')} (added to those of --types)`)
      .option('--script <name>', "the agent's allowlist name of the scan runner", 'scan')
      .option('--async', "submit and return a job id at once (see 'ctrl-exec scan-status')")
      .option('--sarif <file>', 'also write the merged findings as SARIF 2.1.0 to this file')
      .option('--fail-on <severity>', `exit ${EXIT_FINDINGS} when a finding is at this severity or worse (${SEVERITIES.join(', ')})`)
      .option('--scan-timeout <seconds>', 'how long to wait for the agents (default 3600)', '3600')
      .option('--username <name>', 'user name passed to the auth hook and the agent (default $USER)')
      .option('--token <token>', 'auth token (default $ENVEXEC_TOKEN); never logged');
  },
  async run(ctx, argv, opts) {
    const { positional, passthrough } = splitPassthrough(argv);
    if (passthrough.length > 0) throw new UsageError(USAGE);
    const refs = hostRefs(ctx, positional, opts.tags);
    if (refs.length === 0) throw new UsageError(USAGE);
    checkHostCount(refs);
    const script = String(opts.script);
    if (!SCRIPT_NAME.test(script)) throw new UsageError(`Invalid script name '${script}'`);
    const failOn = failOnOption(opts);
    const timeout = Number(opts.scanTimeout);
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400) throw new UsageError('--scan-timeout: seconds between 1 and 86400');
    let plan;
    try {
      plan = planScan(requestFromOptions(opts));
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\n${USAGE}`);
    }
    const { args } = plan;

    const cred = credentials(ctx, opts);
    const denied = await authorizeCli(ctx, { action: 'run', script, hosts: refs, args, ...cred });
    if (denied !== undefined) return denied;

    const dispatcher = dispatcherFor(ctx, { minReadTimeout: timeout });
    try {
      const held = lockForCli(ctx, dispatcher, refs, script);
      if (typeof held === 'number') return held;
      const { hosts, locks } = held;
      try {
        if (opts.async === true) return await submitAsync(ctx, dispatcher, hosts, script, plan, cred);
        const progress = new Progress(ctx.io.stderr, hosts.length);
        const { reqid, results } = await dispatcher.run({ hosts, script, args, ...cred, onResult: () => progress.hostDone(false) });
        progress.finish();
        const scans = results.map(hostScan);
        const findings = mergeFindings(scans.flatMap((s) => s.findings));
        if (typeof opts.sarif === 'string') writeSarifFile(opts.sarif, findings, reqid);
        ctx.log({ action: 'scan', findings: findings.length, hosts: hosts.length, reqid, failed: scans.filter((s) => !s.ok).length });
        if (ctx.json) {
          ctx.printJson({ ok: 1, reqid, hosts: scans.map(({ findings: f, ...rest }) => ({ ...rest, findings: f.length })), findings });
        } else {
          for (const line of scanTextLines(scans, findings)) ctx.out(line);
          if (typeof opts.sarif === 'string') ctx.out(`SARIF written to ${opts.sarif}`);
        }
        if (!scans.every((s) => s.ok)) return 1;
        return findingsExit(ctx, findings, failOn);
      } finally {
        locks.release();
      }
    } finally {
      dispatcher.close();
    }
  },
};

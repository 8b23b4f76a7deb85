import { join } from 'node:path';
import { SCRIPT_NAME, UsageError, writeFileAtomicSync } from '@ctrl-exec/core';
import { ENGINE_NAMES, SCAN_TYPES, SEVERITIES, enginesFor, mergeFindings, toSarif, type ScanType, type Severity } from '@ctrl-exec/orchestrator';
import type { CommandSpec } from '../../cli/command.js';
import { checkHostCount, createDispatcher, TLS_SESSIONS_FILE } from '../../engine/index.js';
import { authorizeCli, credentials, lockForCli, Progress, splitPassthrough } from '../run/support.js';
import { countsLine, hostScan, reachesThreshold, scanTextLines } from './report.js';

const USAGE = 'Usage: ctrl-exec scan <host>[:<port>]... (--git <url> [--ref <ref>] | --archive <url> | --path <dir>) [--types sast,sca,secrets,licence] [--engines a,b]';
/** Exit status when the scans ran but a finding reached --fail-on. */
export const EXIT_FINDINGS = 3;

function list(value: unknown): string[] {
  return typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/** The runner's arguments for this request (checked again by the runner itself). */
export function runnerArgs(opts: Record<string, unknown>): { args: string[]; engines: string[] } {
  const types = list(opts.types);
  for (const t of types) if (!(SCAN_TYPES as readonly string[]).includes(t)) throw new UsageError(`unknown scan type '${t}' (${SCAN_TYPES.join(', ')})`);
  const named = list(opts.engines);
  for (const e of named) if (!ENGINE_NAMES.includes(e)) throw new UsageError(`unknown engine '${e}' (${ENGINE_NAMES.join(', ')})`);
  const engines = enginesFor(types.length === 0 && named.length === 0 ? ['sast', 'sca', 'secrets', 'licence'] : (types as ScanType[]), named);
  const sources = ['git', 'archive', 'path'].filter((k) => typeof opts[k] === 'string');
  if (sources.length !== 1) throw new UsageError(`give exactly one of --git, --archive, --path\n${USAGE}`);
  const args = engines.flatMap((e) => ['--engine', e]);
  if (typeof opts.git === 'string') {
    args.push('--source', 'git', '--url', opts.git);
    if (typeof opts.ref === 'string') args.push('--ref', opts.ref);
  } else if (typeof opts.ref === 'string') {
    throw new UsageError('--ref goes with --git');
  } else if (typeof opts.archive === 'string') {
    args.push('--source', 'archive', '--url', opts.archive);
  } else {
    args.push('--source', 'path', '--path', opts.path as string);
  }
  return { args, engines };
}

export const scanCommand: CommandSpec = {
  name: 'scan',
  summary: 'run security scans (SAST, SCA, secrets, licences) on agents and merge the findings',
  configure(cmd) {
    cmd
      .argument('[hosts...]', '<host>[:<port>]...')
      .option('--git <url>', 'scan a git repository (https://, ssh:// or user@host:path)')
      .option('--ref <ref>', 'branch, tag or commit for --git (default: the remote HEAD)')
      .option('--archive <url>', 'scan a .tar/.tar.gz downloaded over https')
      .option('--path <dir>', "scan a directory on the agent (inside its scan.conf scan_roots)")
      .option('--types <list>', `scan types: ${SCAN_TYPES.join(',')} (default sast,sca,secrets,licence)`)
      .option('--engines <list>', `engines: ${ENGINE_NAMES.join(',')} (added to those of --types)`)
      .option('--script <name>', "the agent's allowlist name of the scan runner", 'scan')
      .option('--sarif <file>', 'also write the merged findings as SARIF 2.1.0 to this file')
      .option('--fail-on <severity>', `exit ${EXIT_FINDINGS} when a finding is at this severity or worse (${SEVERITIES.join(', ')})`)
      .option('--scan-timeout <seconds>', 'how long to wait for the agents (default 3600)', '3600')
      .option('--username <name>', 'user name passed to the auth hook and the agent (default $USER)')
      .option('--token <token>', 'auth token (default $ENVEXEC_TOKEN); never logged');
  },
  async run(ctx, argv, opts) {
    const { positional: refs, passthrough } = splitPassthrough(argv);
    if (refs.length === 0 || passthrough.length > 0) throw new UsageError(USAGE);
    checkHostCount(refs);
    const script = String(opts.script);
    if (!SCRIPT_NAME.test(script)) throw new UsageError(`Invalid script name '${script}'`);
    const failOn = opts.failOn === undefined ? undefined : String(opts.failOn);
    if (failOn !== undefined && !(SEVERITIES as readonly string[]).includes(failOn)) throw new UsageError(`--fail-on: one of ${SEVERITIES.join(', ')}`);
    const timeout = Number(opts.scanTimeout);
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400) throw new UsageError('--scan-timeout: seconds between 1 and 86400');
    const { args } = runnerArgs(opts);

    const cred = credentials(ctx, opts);
    const denied = await authorizeCli(ctx, { action: 'run', script, hosts: refs, args, ...cred });
    if (denied !== undefined) return denied;

    const config = ctx.config();
    const dispatcher = createDispatcher({
      config: { ...config, readTimeout: Math.max(config.readTimeout, timeout) },
      audit: (event) => ctx.log(event),
      sessionFile: join(config.paths.stateDir, TLS_SESSIONS_FILE),
    });
    try {
      const held = lockForCli(ctx, dispatcher, refs, script);
      if (typeof held === 'number') return held;
      const { hosts, locks } = held;
      try {
        const progress = new Progress(ctx.io.stderr, hosts.length);
        const { reqid, results } = await dispatcher.run({ hosts, script, args, ...cred, onResult: () => progress.hostDone(false) });
        progress.finish();
        const scans = results.map(hostScan);
        const findings = mergeFindings(scans.flatMap((s) => s.findings));
        if (typeof opts.sarif === 'string') {
          writeFileAtomicSync(opts.sarif, `${JSON.stringify(toSarif(findings, { automationId: `ctrl-exec-scan/${reqid}` }), null, 2)}\n`, { mode: 0o644 });
        }
        ctx.log({ action: 'scan', findings: findings.length, hosts: hosts.length, reqid, failed: scans.filter((s) => !s.ok).length });
        if (ctx.json) {
          ctx.printJson({ ok: 1, reqid, hosts: scans.map(({ findings: f, ...rest }) => ({ ...rest, findings: f.length })), findings });
        } else {
          for (const line of scanTextLines(scans, findings)) ctx.out(line);
          if (typeof opts.sarif === 'string') ctx.out(`SARIF written to ${opts.sarif}`);
        }
        if (!scans.every((s) => s.ok)) return 1;
        if (failOn !== undefined && reachesThreshold(findings, failOn as Severity)) {
          if (!ctx.json) ctx.err(`${countsLine(findings)}: at or above ${failOn}`);
          return EXIT_FINDINGS;
        }
        return 0;
      } finally {
        locks.release();
      }
    } finally {
      dispatcher.close();
    }
  },
};
